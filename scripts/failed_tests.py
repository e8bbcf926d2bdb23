#!/usr/bin/python3
"""scripts/failed_tests.py REPORT...: one line per failed or erroring test
in pytest's JUnit XML reports, with the first line of its message.

scripts/test.sh prints these after its summary: a CI log is often read from
its end, where the part that failed is named but not the test."""

import sys
import xml.etree.ElementTree as ET


def main(paths):
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as e:
            print("{}: no report ({})".format(path, e))
            continue
        for case in root.iter("testcase"):
            for kind in ("failure", "error"):
                el = case.find(kind)
                if el is None:
                    continue
                message = (el.get("message") or "").strip().splitlines()
                print("{} {}::{}: {}".format(
                    kind.upper(), case.get("classname"), case.get("name"),
                    message[0][:300] if message else ""))


if __name__ == "__main__":
    main(sys.argv[1:])
