#!/usr/bin/env python3
"""Checks containers/flex-template/metadata.json against the shape Google documents for flex
template metadata (name, description, parameters[{name, label, helpText, isOptional,
regexes}]), that every parameter is a file_etl flag, and that each regex accepts and rejects
the values below. The keys are also checked against the TemplateMetadata / ParameterMetadata
schemas of the dataflow.v1b3 discovery document when there is one (DISCOVERY_JSON, else
google-api-python-client's copy if importable).
Usage: check_flex_metadata.py METADATA_JSON FILE_ETL [DISCOVERY_JSON]"""
import json
import os
import re
import subprocess
import sys

# Keys and types from the Dataflow docs ("Metadata parameters").
TOP = {"name": str, "description": str, "streaming": bool, "supportsAtLeastOnce": bool,
       "supportsExactlyOnce": bool, "defaultStreamingMode": str, "parameters": list}
PARAM = {"name": str, "label": str, "helpText": str, "isOptional": bool, "regexes": list}
REQUIRED_TOP = {"name"}
REQUIRED_PARAM = {"name", "label", "helpText"}
# Values each parameter's regexes must accept / reject.
SAMPLES = {
    "input": (["gs://my-bucket/landing/", "gs://my-bucket", "/data/in/events.csv"],
              ["landing/", "s3://b/x", "gs://", "gs://B/x"]),
    "spec": (["gs://my-bucket/etl/spec.json", "/etc/etl/spec.json"], ["spec.json", "gs://my-bucket"]),
    "sink": (["sqlite:/tmp/etl.db", "gcs:gs://b/out", "postgres:host=h dbname=d", "pubsub:projects/p/topics/t"],
             ["/tmp/etl.db", "sqlite:", ":x"]),
    "runner": (["auto", "local", "dataflow"], ["Auto", "flink", ""]),
    "big_runner": (["dataflow", "portable"], ["auto", ""]),
    "size_threshold": (["1073741824", "64M", "1G", "512k"], ["1.5G", "64MB", "-1", ""]),
}
# What POSIX egrep (the documented regex flavour) lacks and Python has.
NOT_ERE = re.compile(r"\\[dDwWsSbB]|\(\?|\*\?|\+\?|\?\?")


def discovery_schemas(path):
    if not path or not os.path.exists(path):
        try:
            import googleapiclient
        except ImportError:
            return None
        base = os.path.dirname(googleapiclient.__file__)
        path = os.path.join(base, "discovery_cache", "documents", "dataflow.v1b3.json")
        if not os.path.exists(path):
            return None
    with open(path) as f:
        schemas = json.load(f)["schemas"]
    return schemas["TemplateMetadata"]["properties"], schemas["ParameterMetadata"]["properties"]


def check_keys(where, obj, types, required, errors):
    for key, value in obj.items():
        if key not in types:
            errors.append(f"{where}: unknown key {key!r}")
        elif not isinstance(value, types[key]):
            errors.append(f"{where}.{key}: expected {types[key].__name__}, got {type(value).__name__}")
    for key in required - obj.keys():
        errors.append(f"{where}: missing required key {key!r}")


def main():
    metadata_path, file_etl = sys.argv[1], sys.argv[2]
    with open(metadata_path) as f:
        meta = json.load(f)
    errors = []
    check_keys("metadata", meta, TOP, REQUIRED_TOP, errors)
    usage = subprocess.run([file_etl, "--help"], capture_output=True, text=True).stderr
    names = set()
    for i, p in enumerate(meta.get("parameters", [])):
        where = f"parameters[{i}]"
        if not isinstance(p, dict):
            errors.append(f"{where}: expected an object")
            continue
        check_keys(where, p, PARAM, REQUIRED_PARAM, errors)
        name = p.get("name", "")
        if name in names:
            errors.append(f"{where}: duplicate name {name!r}")
        names.add(name)
        if f"--{name}" not in usage:
            errors.append(f"{where}: --{name} is not a file_etl flag (file_etl --help)")
        regexes = p.get("regexes", [])
        for r in regexes:
            if not isinstance(r, str) or NOT_ERE.search(r):
                errors.append(f"{where}: regex {r!r} is not POSIX egrep")
        good, bad = SAMPLES.get(name, ([], []))
        if regexes and name not in SAMPLES:
            errors.append(f"{where}: no sample values to test the regexes of {name!r}")
        for value in good:
            if not all(re.search(r, value) for r in regexes):
                errors.append(f"{where}: {name}={value!r} should match {regexes}")
        for value in bad:
            if all(re.search(r, value) for r in regexes):
                errors.append(f"{where}: {name}={value!r} should not match {regexes}")
    for required in ("input", "spec", "sink", "size_threshold"):
        if required not in names:
            errors.append(f"parameters: no {required!r} parameter")
    schemas = discovery_schemas(sys.argv[3] if len(sys.argv) > 3 else None)
    if schemas:
        top, param = schemas
        errors += [f"metadata: {k!r} not in the discovery TemplateMetadata" for k in meta if k not in top]
        errors += [f"parameters: {k!r} not in the discovery ParameterMetadata"
                   for p in meta.get("parameters", []) for k in p if k not in param]
    for e in errors:
        print(f"check_flex_metadata: {metadata_path}: {e}")
    checked = "and the discovery document" if schemas else "(discovery document not installed)"
    print(f"check_flex_metadata: {len(names)} parameters checked against the documented shape {checked}: "
          f"{'FAILED' if errors else 'ok'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
