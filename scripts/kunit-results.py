#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The case results in kunit.py's JSON (kunit.py parse --json), one line
each, as make check's results: "ok kunit:SUITE.CASE", "FAIL kunit:SUITE.CASE:
STATUS"; skipped cases are listed and not counted.

usage: kunit-results.py KUNIT.JSON
"""
import json
import sys


def walk(node, prefix):
    for group in node.get("sub_groups", []):
        yield from walk(group, prefix + group["name"] + ".")
    for case in node.get("test_cases", []):
        yield prefix + case["name"], case.get("status")


def main():
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    for name, status in walk(doc, ""):
        if status == "PASS":
            print(f"ok kunit:{name}")
        elif status == "SKIP":
            print(f"skip kunit:{name}")
        else:
            print(f"FAIL kunit:{name}: {status}")


if __name__ == "__main__":
    main()
