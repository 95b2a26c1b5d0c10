"""Fails when a layer's object files use a symbol defined in a layer that is not below it.

Usage: check_layers.py LAYERS_TXT  (written by tests/layers/CMakeLists.txt: one line per layer,
NAME<TAB>ALLOWED LAYERS (space separated)<TAB>OBJECT FILES (space separated)).
"""
import subprocess
import sys


def symbols(obj):
    """(defined, undefined) global symbols of one object file, read with nm."""
    out = subprocess.run(["nm", "-P", obj], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            undefined.add(name)
        elif kind.isupper():
            defined.add(name)
    return defined, undefined


def main(path):
    layers = []
    for line in open(path, encoding="utf-8"):
        name, allowed, objs = line.rstrip("\n").split("\t")
        layers.append((name, set(allowed.split()), objs.split()))
    owner = {}
    uses = {}
    for name, _, objs in layers:
        for obj in objs:
            defined, undefined = symbols(obj)
            for sym in defined:
                owner[sym] = name
            uses[obj] = (name, undefined)
    bad = []
    allowed_of = {name: allowed for name, allowed, _ in layers}
    for obj, (name, undefined) in sorted(uses.items()):
        for sym in sorted(undefined):
            home = owner.get(sym)
            if home and home != name and home not in allowed_of[name]:
                bad.append(f"{obj.rsplit('/', 1)[-1]} ({name}) uses {sym} from {home}, which is not below it")
    for b in bad:
        print("layer_direction:", b)
    n_objs = len(uses)
    if bad:
        print(f"layer_direction: {len(bad)} upward uses")
        return 1
    print(f"layer_direction: {len(layers)} layers, {n_objs} objects, every use points down")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
