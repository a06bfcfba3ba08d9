#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The boot integration of blksnap track, without booting: the systemd unit
# verified by systemd-analyze (in a root holding the tool) and ordered as
# blksnap(8) BOOT INTEGRATION says; the initramfs-tools hook and
# local-premount script parse (sh -n, shellcheck), the hook copies only
# with a configured device, and the script never fails the boot, whatever
# the tool does.
# shellcheck source=helpers.sh
. "$(dirname "${BASH_SOURCE[0]}")/helpers.sh"
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
unit=$TOP/debian/systemd/blksnap-tracking.service
hook=$TOP/debian/initramfs/hooks/blksnap
script=$TOP/debian/initramfs/local-premount/blksnap

# The unit's ordering: early, before local file systems; stopped at
# shutdown after them; absent devices not a failure.
for k in DefaultDependencies=no Before=local-fs-pre.target Wants=local-fs-pre.target \
	Conflicts=shutdown.target After=systemd-remount-fs.service Type=oneshot \
	RemainAfterExit=yes SuccessExitStatus=5 \
	'ExecStart=/usr/sbin/blksnap track start' 'ExecStop=/usr/sbin/blksnap track stop --detach' \
	ConditionPathExists=/etc/blksnap/tracking.conf WantedBy=sysinit.target; do
	grep -q "^$k" "$unit" || fail "unit: no $k"
done
grep -q '^Before=.*shutdown.target' "$unit" || fail "unit: not Before=shutdown.target"
if command -v systemd-analyze >/dev/null; then
	root=$TEST_TMP/root
	mkdir -p "$root/usr/sbin" "$root/etc/systemd/system"
	cp "$BLKSNAP" "$root/usr/sbin/blksnap"
	cp "$unit" "$root/etc/systemd/system/"
	v=$(systemd-analyze verify --man=no --root="$root" \
		/etc/systemd/system/blksnap-tracking.service 2>&1) ||
		fail "systemd-analyze verify failed: $v"
	[[ -z $v ]] || fail "systemd-analyze verify: $v"
else
	echo "no systemd-analyze: unit not verified"
fi

for f in "$hook" "$script"; do
	[[ -x $f ]] || fail "$f not executable"
	sh -n "$f" || fail "$f: sh -n"
	if command -v dash >/dev/null; then dash -n "$f" || fail "$f: dash -n"; fi
	if command -v shellcheck >/dev/null; then
		shellcheck -s sh "$f" || fail "$f: shellcheck"
	fi
	[[ $(sh "$f" prereqs) == "" ]] || fail "$f prereqs"
done

# The hook and the script run with their paths moved into TEST_TMP: the
# configuration, hook-functions (recording the calls), the tool and
# /scripts/functions.
fake=$TEST_TMP/fake
mkdir -p "$fake"
moved() { # FILE: a copy of FILE with the paths moved
	sed -e "s|/etc/blksnap/tracking.conf|$fake/tracking.conf|g" \
		-e "s|/usr/share/initramfs-tools/hook-functions|$fake/hook-functions|" \
		-e "s|/usr/sbin/blksnap|$fake/blksnap|g" \
		-e "s|/scripts/functions|$fake/functions|" "$1" >"$fake/$(basename "$1").$2"
	echo "$fake/$(basename "$1").$2"
}
cat >"$fake/hook-functions" <<HF
copy_exec() { echo "copy_exec \$*" >>"$fake/calls"; }
copy_file() { echo "copy_file \$*" >>"$fake/calls"; }
manual_add_modules() { echo "manual_add_modules \$*" >>"$fake/calls"; }
HF
cat >"$fake/functions" <<F
log_warning_msg() { echo "W: \$*" >>"$fake/calls"; }
wait_for_udev() { echo "wait_for_udev \$*" >>"$fake/calls"; }
resolve_device() { [ "\$1" = LABEL=root ] && echo /dev/vda3; }
F
cat >"$fake/blksnap" <<F
#!/bin/sh
echo "blksnap \$*" >>"$fake/calls"
exit "\${FAKE_RC:-0}"
F
chmod +x "$fake/blksnap"
h=$(moved "$hook" hook)
s=$(moved "$script" script)

# No configuration, or one without a device: nothing in the initramfs.
rm -f "$fake/calls"
sh "$h" || fail "hook without configuration: exit $?"
printf '# nothing\nstate-dir /x\n' >"$fake/tracking.conf"
sh "$h" || fail "hook without devices: exit $?"
[[ ! -e $fake/calls ]] || fail "hook without devices copied: $(cat "$fake/calls")"
printf 'state-dir /x\n  device UUID=1\n' >"$fake/tracking.conf"
sh "$h" || fail "hook: exit $?"
calls=$(cat "$fake/calls")
[[ $calls == *"copy_exec $fake/blksnap /usr/sbin"* ]] || fail "hook: the tool not copied: $calls"
[[ $calls == *"copy_file config $fake/tracking.conf $fake/tracking.conf"* ]] ||
	fail "hook: the configuration not copied: $calls"
[[ $calls == *"manual_add_modules blksnap"* ]] || fail "hook: the modules not added: $calls"

# The script: the root device attached; exit 0 whatever the tool does.
for rc in 0 5 1 2 139; do
	rm -f "$fake/calls"
	FAKE_RC=$rc ROOT=/dev/vda2 sh "$s" || fail "script exit $? with the tool's $rc"
	calls=$(cat "$fake/calls")
	[[ $calls == *"wait_for_udev 10"*"blksnap track start --attach-only /dev/vda2"* ]] ||
		fail "script: $calls"
	if ((rc == 0 || rc == 5)); then
		[[ $calls != *W:* ]] || fail "script warned on exit $rc: $calls"
	else
		[[ $calls == *"W: blksnap: track start for /dev/vda2 failed (exit $rc)"* ]] ||
			fail "script did not warn on exit $rc: $calls"
	fi
done
# A root= tag not yet resolved by initramfs-tools: the device it names.
rm -f "$fake/calls"
ROOT=LABEL=root sh "$s" || fail "script with ROOT=LABEL=root: exit $?"
[[ $(cat "$fake/calls") == *"blksnap track start --attach-only /dev/vda3"* ]] ||
	fail "script with ROOT=LABEL=root: $(cat "$fake/calls")"
rm -f "$fake/calls" "$fake/blksnap"
ROOT=/dev/vda2 sh "$s" || fail "script without the tool: exit $?"
[[ ! -e $fake/calls ]] || fail "script without the tool: $(cat "$fake/calls")"
finish
