#!/bin/sh
# readme_c.sh README PREFIX WORKDIR
#
# README's C section, exactly as printed, against the npshm installed under PREFIX: its program
# (the ```c block) is compiled with all warnings, then its commands (from `export PKG_CONFIG_PATH`
# on, in the ```sh block) are run with $HOME/.local pointing at PREFIX. The program uses the
# fixed name "prices", so everything runs in a private /dev/shm (run_in_small_shm.sh: skipped
# without root, as the other namespace tests). Run twice, the program must stop with its message
# and status 1 the second time, when the name is taken, rather than crash.
set -eu
[ "$#" = 3 ] || { echo "usage: $0 README PREFIX WORKDIR" >&2; exit 2; }
readme=$1 prefix=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)

rm -rf "$work" && mkdir -p "$work/home"
ln -s "$prefix" "$work/home/.local"
# The first ```c block after "## C", and the ```sh block's lines from `export` on.
awk '/^## C$/ {c = 1} c && /^```c$/ {on = 1; next} on && /^```$/ {exit} on' "$readme" > "$work/prices.c"
awk '/^## C$/ {c = 1} c && /^```sh$/ {on = 1; next} on && /^```$/ {exit} on && /^export / {go = 1} on && go' \
    "$readme" > "$work/commands.sh"
grep -q 'int main' "$work/prices.c" || { echo "no C program in $readme" >&2; exit 1; }
grep -q '^cc prices.c' "$work/commands.sh" || { echo "no build command in $readme" >&2; exit 1; }
echo "== prices.c"; cat "$work/prices.c"; echo "== commands"; cat "$work/commands.sh"

# The snippet compiles cleanly as C11 (the README's command compiles it again, as printed).
flags=$(PKG_CONFIG_LIBDIR=$(dirname "$(find "$prefix" -name npshm.pc | head -n 1)") pkg-config --cflags npshm)
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror -pedantic -c $flags -o "$work/prices.o" "$work/prices.c"

cat > "$work/run.sh" <<SCRIPT
set -eu
cd "$work"
unset LD_LIBRARY_PATH PKG_CONFIG_LIBDIR
export HOME="$work/home"
. ./commands.sh
set +e
./prices 2> second.err
status=\$?
set -e
cat second.err
[ "\$status" = 1 ] || { echo "second run: status \$status, want 1 (the name is taken)" >&2; exit 1; }
grep -q 'npshm_create("prices"): an array of that name exists' second.err
"\$HOME/.local/bin/npshm" delete prices
echo "README's C section works"
SCRIPT
exec sh "$here/../c/run_in_small_shm.sh" sh "$work/run.sh"
