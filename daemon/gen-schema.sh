#!/bin/sh
# Turn schema/NNNN-*.sql into daemon/schema.c: an array of migrations
# compiled into the binary, applied in order by db.c.
set -eu
echo '/* Generated from the schema/ migrations by daemon/gen-schema.sh; do not edit. */'
echo '#include <stddef.h>'
echo '#include "db.h"'
echo 'const struct migration db_migrations[] = {'
for f in "$@"; do
	n=$(basename "$f" | sed 's/^0*\([0-9][0-9]*\)-.*/\1/')
	printf '\t{ %s, "%s",\n' "$n" "$(basename "$f")"
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t  "/' -e 's/$/\\n"/' "$f"
	printf '\t},\n'
done
printf '\t{ 0, NULL, NULL }\n'
echo '};'
