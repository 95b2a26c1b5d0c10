#!/usr/bin/env bash
# Runs a cmocka program with one deliberately failing testing-kit test under cmocka's JUnit
# XML output and checks the XML: two test cases, one failure carrying the kit's report.
# Usage: check_junit.sh PROGRAM
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
rc=0
CMOCKA_MESSAGE_OUTPUT=xml CMOCKA_XML_FILE="$dir/junit-%g.xml" timeout 120 "$1" || rc=$?
xml="$dir/junit-testing_kit_junit.xml"
[ "$rc" -ne 0 ] || { echo "check_junit: the failing test did not fail the program"; exit 1; }
[ -s "$xml" ] || { echo "check_junit: no JUnit XML at $xml"; ls -l "$dir"; exit 1; }
cat "$xml"
grep -q 'tests="2"' "$xml" && grep -q 'failures="1"' "$xml" || { echo "check_junit: expected 2 tests, 1 failure"; exit 1; }
grep -q '<testcase name="wrong_expectation"' "$xml" || { echo "check_junit: no testcase wrong_expectation"; exit 1; }
grep -q 'assert .NumbersAre. on Numbers.main (equal) failed: 1 missing, 1 unexpected (expected 3, got 3); missing: 4; unexpected: 3' "$xml" ||
  { echo "check_junit: the failure message lacks the kit's report"; exit 1; }
echo "check_junit: JUnit XML names the failing test and carries the missing/unexpected report"
