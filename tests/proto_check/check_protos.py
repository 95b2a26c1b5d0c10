#!/usr/bin/env python3
"""Checks beam-c's proto/ against the Beam model shipped in the apache-beam wheel.

Usage: check_protos.py --descriptor-set FILE --pin tests/peer_versions.env
                       [--expect-difference TEXT ...]

FILE is `protoc --include_imports --descriptor_set_out` over proto/org/**/*.proto.
Every message (nested too), field, oneof membership, enum, enum value (with its
beam_urn / beam_constant / metrics options), extension and service method we define
is compared with the upstream descriptor of the same full name, taken from the
`*_pb2` modules of apache_beam.portability.api. A definition of ours must match in
number, type, type name, label and oneof; a message or enum we define must also hold
every field / value upstream has, because a partial message would silently hide data
the runner sent. Whole upstream messages we never use may be left out.

Tolerated, because the wire format is identical (each use is counted in the summary):
proto3 `optional` fields, which protoc-c 1.4 cannot compile, written as a one-member
oneof named like protoc's synthetic one (`_<field>`).
Not compared: comments, field options (ctype=CORD is a C++ hint, deprecated is
advisory), and the free-text "description" annotations of MonitoringInfoSpecs.

With --expect-difference the run is a self-test of this checker: it succeeds only if
differences were found and each TEXT occurs in one of them.
"""
import argparse
import importlib
import pkgutil
import sys

from google.protobuf import descriptor_pb2

BEAM_PACKAGE = "org.apache.beam.model."
FDP = descriptor_pb2.FieldDescriptorProto


def read_pin(path):
    for line in open(path, encoding="utf-8"):
        key, _, value = line.strip().partition("=")
        if key == "APACHE_BEAM_VERSION":
            return value.strip()
    sys.exit(f"proto_check: no APACHE_BEAM_VERSION in {path}")


def load_upstream():
    """Imports every *_pb2 module and indexes its definitions by full name."""
    import apache_beam
    import apache_beam.portability.api as api

    files = {}
    for info in pkgutil.walk_packages(api.__path__, api.__name__ + "."):
        if info.name.endswith("_pb2"):
            module = importlib.import_module(info.name)
            proto = descriptor_pb2.FileDescriptorProto()
            module.DESCRIPTOR.CopyToProto(proto)
            files[proto.name] = proto
    index = {}
    for proto in files.values():
        if proto.package.startswith(BEAM_PACKAGE):
            index_scope(index, proto.name, proto.package, proto)
    return apache_beam.__version__, files, index


def index_scope(index, file_name, scope, node):
    """Records messages, enums, services and extensions under scope.name."""
    is_file = isinstance(node, descriptor_pb2.FileDescriptorProto)
    for kind, items in (("message", node.message_type if is_file else node.nested_type),
                        ("enum", node.enum_type), ("extension", node.extension),
                        ("service", node.service if is_file else [])):
        for item in items:
            full = f"{scope}.{item.name}"
            index[full] = (kind, file_name, item)
            if kind == "message":
                index_scope(index, file_name, full, item)


def strip_docs(options):
    """Copy of EnumValueOptions without MonitoringInfoSpec description annotations."""
    options = type(options).FromString(options.SerializeToString())
    for ext in options.Extensions:
        value = options.Extensions[ext]
        if ext.message_type is not None and ext.message_type.name == "MonitoringInfoSpec":
            keep = [a for a in value.annotations if a.key != "description"]
            del value.annotations[:]
            value.annotations.extend(keep)
    return options


class Checker:
    def __init__(self, index):
        self.index = index
        self.diffs = []
        self.counts = dict(messages=0, fields=0, enums=0, values=0, services=0,
                           methods=0, extensions=0, optional_as_oneof=0)

    def diff(self, where, what):
        self.diffs.append(f"{where}: {what}")

    def upstream(self, full, kind, file_name):
        entry = self.index.get(full)
        if entry is None or entry[0] != kind:
            self.diff(full, f"{kind} not defined upstream")
            return None
        if entry[1] != file_name:
            self.diff(full, f"declared in {file_name}, upstream in {entry[1]}")
        return entry[2]

    def check_file(self, fdp):
        for m in fdp.message_type:
            self.check_message(fdp.name, f"{fdp.package}.{m.name}", m)
        for e in fdp.enum_type:
            self.check_enum(fdp.name, f"{fdp.package}.{e.name}", e)
        for x in fdp.extension:
            self.check_field(fdp.package, x, [], self.upstream(f"{fdp.package}.{x.name}", "extension", fdp.name), [])
        for s in fdp.service:
            self.check_service(fdp.name, f"{fdp.package}.{s.name}", s)

    def check_message(self, file_name, full, ours):
        self.counts["messages"] += 1
        up = self.upstream(full, "message", file_name)
        if up is None:
            return
        if ours.options.map_entry != up.options.map_entry:
            self.diff(full, f"map_entry {ours.options.map_entry}, upstream {up.options.map_entry}")
        up_fields = {f.name: f for f in up.field}
        for f in ours.field:
            self.check_field(full, f, ours.oneof_decl, up_fields.get(f.name), up.oneof_decl)
        have = {f.name for f in ours.field}
        for f in up.field:
            if f.name not in have:
                self.diff(f"{full}.{f.name}", f"upstream field {f.number} missing here")
        for n in ours.nested_type:
            self.check_message(file_name, f"{full}.{n.name}", n)
        for e in ours.enum_type:
            self.check_enum(file_name, f"{full}.{e.name}", e)
        for x in ours.extension:
            self.check_field(full, x, [], self.upstream(f"{full}.{x.name}", "extension", file_name), [])

    def check_field(self, owner, ours, our_oneofs, up, up_oneofs):
        self.counts["extensions" if ours.HasField("extendee") else "fields"] += 1
        where = f"{owner}.{ours.name}"
        if up is None:
            if not ours.HasField("extendee"):
                self.diff(where, "field not defined upstream")
            return
        for attr in ("number", "extendee", "type_name"):
            if getattr(ours, attr) != getattr(up, attr):
                self.diff(where, f"{attr} {getattr(ours, attr)!r}, upstream {getattr(up, attr)!r}")
        if ours.type != up.type:
            self.diff(where, f"type {FDP.Type.Name(ours.type)}, upstream {FDP.Type.Name(up.type)}")
        if ours.label != up.label:
            self.diff(where, f"label {FDP.Label.Name(ours.label)}, upstream {FDP.Label.Name(up.label)}")
        our_oneof = our_oneofs[ours.oneof_index].name if ours.HasField("oneof_index") else None
        up_oneof = up_oneofs[up.oneof_index].name if up.HasField("oneof_index") else None
        if our_oneof != up_oneof:
            self.diff(where, f"oneof {our_oneof}, upstream {up_oneof}")
        elif ours.proto3_optional != up.proto3_optional:
            if up.proto3_optional and our_oneof == f"_{ours.name}":
                self.counts["optional_as_oneof"] += 1
            else:
                self.diff(where, f"proto3_optional {ours.proto3_optional}, upstream {up.proto3_optional}")

    def check_enum(self, file_name, full, ours):
        self.counts["enums"] += 1
        up = self.upstream(full, "enum", file_name)
        if up is None:
            return
        up_values = {v.name: v for v in up.value}
        for v in ours.value:
            self.counts["values"] += 1
            uv = up_values.get(v.name)
            if uv is None:
                self.diff(f"{full}.{v.name}", "enum value not defined upstream")
                continue
            if v.number != uv.number:
                self.diff(f"{full}.{v.name}", f"number {v.number}, upstream {uv.number}")
            if strip_docs(v.options) != strip_docs(uv.options):
                self.diff(f"{full}.{v.name}", f"options {{{short(v.options)}}}, upstream {{{short(uv.options)}}}")
        have = {v.name for v in ours.value}
        for v in up.value:
            if v.name not in have:
                self.diff(f"{full}.{v.name}", f"upstream enum value {v.number} missing here")

    def check_service(self, file_name, full, ours):
        self.counts["services"] += 1
        up = self.upstream(full, "service", file_name)
        if up is None:
            return
        up_methods = {m.name: m for m in up.method}
        for m in ours.method:
            self.counts["methods"] += 1
            um = up_methods.get(m.name)
            if um is None:
                self.diff(f"{full}/{m.name}", "method not defined upstream")
                continue
            for attr in ("input_type", "output_type", "client_streaming", "server_streaming"):
                if getattr(m, attr) != getattr(um, attr):
                    self.diff(f"{full}/{m.name}", f"{attr} {getattr(m, attr)!r}, upstream {getattr(um, attr)!r}")
        have = {m.name for m in ours.method}
        for m in up.method:
            if m.name not in have:
                self.diff(f"{full}/{m.name}", "upstream method missing here")


def short(options):
    return " ".join(str(options).split())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--descriptor-set", required=True)
    ap.add_argument("--pin", required=True, help="tests/peer_versions.env")
    ap.add_argument("--expect-difference", action="append", default=[])
    args = ap.parse_args()

    pinned = read_pin(args.pin)
    version, _, index = load_upstream()
    print(f"proto_check: apache-beam {version} installed, {pinned} pinned in {args.pin}")
    if version != pinned:
        print(f"proto_check: FAIL: installed apache-beam {version} is not the pinned {pinned}")
        return 1

    # Parsed only now: the upstream modules register the beam_urn etc. extensions,
    # so the options of our enum values decode into comparable extension fields.
    with open(args.descriptor_set, "rb") as f:
        ours = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    checker = Checker(index)
    files = [fdp for fdp in ours.file if fdp.package.startswith(BEAM_PACKAGE)]
    for fdp in files:
        checker.check_file(fdp)

    for d in checker.diffs:
        print(f"proto_check: DIFFERENCE {d}")
    c = checker.counts
    print(f"proto_check: {len(files)} files, {c['messages']} messages, {c['fields']} fields, "
          f"{c['enums']} enums ({c['values']} values), {c['extensions']} extensions, "
          f"{c['services']} services ({c['methods']} methods) checked against apache-beam "
          f"{version}: {len(checker.diffs)} differences "
          f"({c['optional_as_oneof']} proto3 optional fields as one-member oneofs)")

    if args.expect_difference:
        missing = [t for t in args.expect_difference if not any(t in d for d in checker.diffs)]
        for t in missing:
            print(f"proto_check: FAIL: expected a difference mentioning {t!r}")
        return 1 if missing or not checker.diffs else 0
    if not files:
        print("proto_check: FAIL: no org.apache.beam.model files in the descriptor set")
        return 1
    return 1 if checker.diffs else 0


if __name__ == "__main__":
    sys.exit(main())
