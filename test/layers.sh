#!/usr/bin/env bash
# Layers are folders, and a folder includes only itself and the layers below it
# (ARCHITECTURE.md, "Layers"). Lowest first; a folder not listed here is not checked.
set -euo pipefail
cd "$(dirname "$0")/.."
layers=(kernel netif apic pci virtio balloon runtime net)
status=0
for ((i = 0; i < ${#layers[@]}; i++)); do
    own=${layers[i]}
    for ((j = i + 1; j < ${#layers[@]}; j++)); do
        upper=${layers[j]}
        # Every #include of a header in a higher layer, as file:line: text.
        if hits=$(git ls-files "$own/" | grep -E '\.(c|cc|cpp|h|hpp)$' |
            xargs -r grep -Hn "^#include \"$upper/" 2>/dev/null); then
            echo "layers: $own/ includes $upper/, a layer above it:"
            echo "$hits"
            status=1
        fi
    done
done
[[ $status == 0 ]] && echo "layers: ${layers[*]}: no folder includes a layer above it"
exit $status
