#!/usr/bin/env python3
"""Checks beam-c's proto/google/pubsub/v1 against PyPI's google-cloud-pubsub.

Usage: check_pubsub_protos.py --descriptor-set FILE --pin tests/peer_versions.env
                              [--expect-difference TEXT ...]

FILE is a protoc descriptor set holding our google/pubsub/v1/pubsub.proto (the proto_check
set of proto/ includes it). Messages and fields are compared with check_protos.Checker (the
rules of the Beam proto check: same numbers, types, labels; a message we define holds every
upstream field) against the descriptors google-cloud-pubsub ships. That package builds its
messages with proto-plus under another file name (google/pubsub_v1/types/pubsub.proto) and
carries no service descriptors, so: upstream definitions are filed under our file name, and
each method of our Publisher and Subscriber services is compared with the method path, the
request and response types and the streaming of the package's gRPC transports (we define
only the methods we call).
"""
import argparse
import inspect
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_protos import Checker, index_scope  # noqa: E402
from google.protobuf import descriptor_pb2  # noqa: E402

PACKAGE = "google.pubsub.v1"
OUR_FILE = "google/pubsub/v1/pubsub.proto"


def read_pin(path):
    for line in open(path, encoding="utf-8"):
        key, _, value = line.strip().partition("=")
        if key == "GOOGLE_CLOUD_PUBSUB_VERSION":
            return value.strip()
    sys.exit(f"proto_check_pubsub: no GOOGLE_CLOUD_PUBSUB_VERSION in {path}")


def transport_methods():
    """{service: {method: (input_type, output_type)}} from the gRPC transports' stubs."""
    from google.pubsub_v1.services.publisher.transports import grpc as publisher
    from google.pubsub_v1.services.subscriber.transports import grpc as subscriber
    text = inspect.getsource(publisher) + inspect.getsource(subscriber)
    methods = {}
    pattern = (r'\.(unary|stream)_(unary|stream)\(\s*'
               r'"/google\.pubsub\.v1\.(\w+)/(\w+)",\s*request_serializer=pubsub\.(\w+)\.serialize,'
               r'\s*response_deserializer=(?:pubsub\.(\w+)\.deserialize|empty_pb2\.Empty\.FromString)')
    for client, server, service, method, req, resp in re.findall(pattern, text):
        out = f".{PACKAGE}.{resp}" if resp else ".google.protobuf.Empty"
        methods.setdefault(service, {})[method] = (f".{PACKAGE}.{req}", out, client == "stream", server == "stream")
    return methods


def load_upstream():
    from importlib.metadata import version as dist_version
    from google.pubsub_v1.types import pubsub
    fdp = descriptor_pb2.FileDescriptorProto()
    pubsub.PubsubMessage.pb().DESCRIPTOR.file.CopyToProto(fdp)
    index = {}
    index_scope(index, OUR_FILE, fdp.package, fdp)
    for service, methods in transport_methods().items():
        sdp = descriptor_pb2.ServiceDescriptorProto(name=service)
        for name, (inp, out, client_streaming, server_streaming) in methods.items():
            sdp.method.add(name=name, input_type=inp, output_type=out, client_streaming=client_streaming,
                           server_streaming=server_streaming)
        index[f"{PACKAGE}.{service}"] = ("service", OUR_FILE, sdp)
    return dist_version("google-cloud-pubsub"), index


class PartialServiceChecker(Checker):
    """A client needs only the methods it calls: a service may leave upstream methods out
    (messages may not leave fields out: that would drop data a server sends)."""

    def check_service(self, file_name, full, ours):
        before = len(self.diffs)
        super().check_service(file_name, full, ours)
        self.diffs[before:] = [d for d in self.diffs[before:] if not d.endswith("upstream method missing here")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--descriptor-set", required=True)
    ap.add_argument("--pin", required=True)
    ap.add_argument("--expect-difference", action="append", default=[])
    args = ap.parse_args()
    pinned = read_pin(args.pin)
    version, index = load_upstream()
    print(f"proto_check_pubsub: google-cloud-pubsub {version} installed, {pinned} pinned in {args.pin}")
    if version != pinned:
        print(f"proto_check_pubsub: FAIL: installed google-cloud-pubsub {version} is not the pinned {pinned}")
        return 1
    with open(args.descriptor_set, "rb") as f:
        ours = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    files = [fdp for fdp in ours.file if fdp.package == PACKAGE]
    checker = PartialServiceChecker(index)
    for fdp in files:
        checker.check_file(fdp)
    for d in checker.diffs:
        print(f"proto_check_pubsub: DIFFERENCE {d}")
    c = checker.counts
    print(f"proto_check_pubsub: {len(files)} files, {c['messages']} messages, {c['fields']} fields, "
          f"{c['services']} services ({c['methods']} methods) checked against google-cloud-pubsub {version}: "
          f"{len(checker.diffs)} differences")
    if args.expect_difference:
        missing = [t for t in args.expect_difference if not any(t in d for d in checker.diffs)]
        for t in missing:
            print(f"proto_check_pubsub: FAIL: expected a difference mentioning {t!r}")
        return 1 if missing or not checker.diffs else 0
    if not files or not c["methods"]:
        print(f"proto_check_pubsub: FAIL: no {PACKAGE} messages or methods in the descriptor set")
        return 1
    return 1 if checker.diffs else 0


if __name__ == "__main__":
    sys.exit(main())
