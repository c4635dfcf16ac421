#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# skipped.py - what a meson test run skipped, and why, one line each
#
#   skipped.py TESTLOG_JSON
#
# Reads meson's meson-logs/testlog.json. A test skipped whole says why in
# its TAP plan ("1..0 # SKIP why"); a behaviour skipped inside a test that
# ran says it on its own line ("ok - what # SKIP"). tests/run.sh prints
# these under each step, so that a skip is seen, not counted in a total.

import json
import re
import sys

# "1..0 # SKIP why", or "ok [N] [-] what # SKIP [why]"
PLAN_SKIP = re.compile(r"^1\.\.0\s*#\s*SKIP\S*\s*(.*)$", re.I)
TEST_SKIP = re.compile(r"^ok\b\s*[0-9]*\s*-?\s*([^#]*?)\s*#\s*SKIP\S*\s*(.*)$", re.I)


def skips(test):
    """The reasons a test gives for what it skipped"""
    reasons = []
    for line in (test.get("stdout") or "").splitlines():
        plan, one = PLAN_SKIP.match(line), TEST_SKIP.match(line)
        if plan:
            reasons.append(plan.group(1).strip())
        elif one:
            reasons.append(": ".join(p for p in one.groups() if p))
    if test["result"] == "SKIP" and not reasons:
        reasons.append("no reason given")
    return reasons


def main():
    with open(sys.argv[1]) as log:
        for line in log:
            test = json.loads(line)
            for why in skips(test):
                name = test["name"].split(":", 1)[-1].strip()
                print(f"{name}: {why[:160]}")


main()
