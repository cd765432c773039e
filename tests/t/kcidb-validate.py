#!/usr/bin/env python3
"""kcidb-validate.py SCHEMA FILE...: validate KCIDB I/O JSON (kstage kcidb
export, GET /api/v1/kcidb) against the schema with python3-jsonschema.

The validator is the one of the draft the schema declares in "$schema"
(2020-12 for KCIDB v5.3), with its format checker: "date-time" (and
"email") are checked, "uri" only where the optional rfc3987 module is
installed.  Every error is printed with the path of the object it is in.
Exit 0 when every file is valid, 1 when one is not, 2 on bad input."""
import json
import sys

import jsonschema


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    bad = 0
    for name in argv[2:]:
        try:
            with open(name) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print(f"{name}: {e}", file=sys.stderr)
            return 2
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        for e in errors[:20]:
            where = "/".join(str(p) for p in e.absolute_path)
            print(f"{name}: /{where}: {e.message}")
        if errors:
            bad = 1
            print(f"{name}: {len(errors)} errors ({cls.__name__})")
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv))
