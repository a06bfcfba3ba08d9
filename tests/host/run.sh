#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Host tests: need no kernel module; exit 0 pass, 77 skip, other fail.
#
#   *.c        UAPI-only programs (except lib-*.c), built and run here;
#   lib-*.c    programs linked with libblksnap.so (built here first; the
#              UAPI headers are there for fakes of the module);
#   preload-*.c  shared objects for LD_PRELOAD (fakes of the module), built
#              here as NAME.so;
#   tool-*.sh  shell tests of the blksnap tool (built here first), run as
#              "bash FILE" with BLKSNAP (the tool), BLKSNAP_LIB (the
#              library folder), PRELOAD_DIR (where the NAME.so are) and
#              TEST_TMP (a scratch folder) set;
#   dkms-*.sh  shell tests of the DKMS package's build files (debian/dkms),
#              run the same way (helpers.sh), needing no build here.
#
# VALGRIND=1 runs the lib-*.c programs and the tool under valgrind
# (memory errors and leaks fail the test).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
OUT=$TOP/build/host-tests
mkdir -p "$OUT"
pass=0 fail=0 skip=0

result() { # NAME STATUS
	case $2 in
	0) echo "PASS $1"; pass=$((pass + 1)) ;;
	77) echo "SKIP $1"; skip=$((skip + 1)) ;;
	*) echo "FAIL $1"; fail=$((fail + 1)) ;;
	esac
}

vg=()
if [[ ${VALGRIND:-0} != 0 ]]; then
	if command -v valgrind >/dev/null; then
		vg=(valgrind -q --leak-check=full "--show-leak-kinds=definite,indirect"
			"--errors-for-leak-kinds=definite,indirect" --error-exitcode=99)
	else
		echo "run.sh: VALGRIND set but no valgrind: running without"
	fi
fi

for src in "$HERE"/*.c; do
	[[ $(basename "$src") == lib-* || $(basename "$src") == preload-* ]] && continue
	name=host/$(basename "$src" .c)
	bin=$OUT/$(basename "$src" .c)
	if ! cc -O2 -Wall -Wextra -Werror -I"$TOP/include/uapi" -o "$bin" "$src"; then
		echo "FAIL $name (build)"
		fail=$((fail + 1))
		continue
	fi
	"$bin"
	result "$name" $?
done

# The library and the tool, built apart from the main build folders.
LIBO=$OUT/lib
TOOLO=$OUT/tools
built=1
if ! make -s -C "$TOP/lib" O="$LIBO" >"$OUT/build.log" 2>&1 ||
	! make -s -C "$TOP/tools/blksnap" O="$TOOLO" LIBO="$LIBO" >>"$OUT/build.log" 2>&1; then
	cat "$OUT/build.log"
	built=0
fi

for src in "$HERE"/preload-*.c; do
	[[ -f $src ]] || continue
	if ! cc -O2 -g -Wall -Wextra -Werror -fPIC -shared -I"$TOP/include/uapi" \
		-o "$OUT/$(basename "$src" .c).so" "$src"; then
		echo "FAIL host/$(basename "$src" .c) (build)"
		fail=$((fail + 1))
	fi
done

for src in "$HERE"/lib-*.c; do
	[[ -f $src ]] || continue
	name=host/$(basename "$src" .c)
	bin=$OUT/$(basename "$src" .c)
	if ((!built)) || ! cc -O2 -g -Wall -Wextra -Werror -I"$TOP/lib/include" \
		-I"$TOP/include/uapi" -o "$bin" "$src" -L"$LIBO" -lblksnap; then
		echo "FAIL $name (build)"
		fail=$((fail + 1))
		continue
	fi
	LD_LIBRARY_PATH=$LIBO "${vg[@]}" "$bin"
	result "$name" $?
done

# Under valgrind the tool runs through a wrapper script.
tool=$TOOLO/blksnap
tmo=300
if ((${#vg[@]})); then
	tmo=1800
	printf '#!/bin/bash\nexec %s %q "$@"\n' "${vg[*]}" "$TOOLO/blksnap" >"$OUT/blksnap-vg"
	chmod +x "$OUT/blksnap-vg"
	tool=$OUT/blksnap-vg
fi
for t in "$HERE"/tool-*.sh "$HERE"/dkms-*.sh; do
	[[ -f $t ]] || continue
	name=host/$(basename "$t" .sh)
	if ((!built)) && [[ $name == host/tool-* ]]; then
		echo "FAIL $name (build)"
		fail=$((fail + 1))
		continue
	fi
	tmp=$(mktemp -d "$OUT/tmp.XXXXXX")
	BLKSNAP=$tool BLKSNAP_LIB=$LIBO PRELOAD_DIR=$OUT TEST_TMP=$tmp timeout "$tmo" bash "$t"
	rc=$?
	((rc == 124)) && echo "$name: timeout after $tmo s"
	rm -rf "$tmp"
	result "$name" $rc
done

echo "$pass passed, $fail failed, $skip skipped"
((fail == 0))
