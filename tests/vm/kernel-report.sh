#!/bin/bash
# kernel-report.sh CONSOLE_LOG: the first kernel report of a console log in
# one line: what it was, where (RIP) and the innermost callers, so that a
# summary's last lines (CI's) name it even when the whole log is out of
# reach. Prints nothing if the log holds no report.
#
# A report starts at a line naming it: BUG, Oops, WARNING, a general
# protection fault, a panic, a hung task ("INFO: task ... blocked for more
# than"), an RCU stall, a failed page allocation, a lockdep splat. A call
# trace with no such line before it is reported by the line that precedes
# it. Used by tests/vm/run.sh and tests/installed/run.sh.
set -euo pipefail

tr -d '\r' <"${1:?console log}" | awk '
	function fn(s) { sub(/^\[ *[0-9.]+\] /, "", s); sub(/^ *(\? )?/, "", s); return s }
	!what && /(BUG:|Oops|WARNING:|kernel BUG|general protection fault|Kernel panic|INFO: task .* blocked for more than|rcu: INFO:|self-detected stall|page allocation failure|possible circular locking|possible recursive locking|inconsistent lock state)/ {
		what = fn($0); next }
	!what && /Call Trace:/ { what = "call trace after: " prev; trace = traced = 1; next }
	{ l = fn($0); if (l !~ /^(CPU:|Hardware name:|Tainted:|Not tainted|Workqueue:|task:|Call Trace:)/) prev = l }
	what && !rip && /RIP: 0010:/ { rip = fn($0); sub(/^RIP: 0010:/, "", rip); next }
	what && !traced && /Call Trace:/ { trace = traced = 1; next }
	trace && / \? / { next }
	trace && n < 10 && /\] +[a-zA-Z_][a-zA-Z0-9_.]*\+0x/ {
		f = fn($0); sub(/\+0x.*/, "", f)
		if (f !~ /^(<IRQ>|<\/IRQ>|<TASK>|<\/TASK>)$/) calls = calls (n++ ? " < " : "") f
		next }
	trace && /<\/TASK>|---\[ end/ { trace = 0 }
	END { if (what) printf "%s%s%s\n", what, rip ? "; RIP " rip : "", calls ? "; " calls : "" }'
