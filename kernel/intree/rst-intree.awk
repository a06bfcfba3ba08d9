# SPDX-License-Identifier: GPL-2.0
#
# The in-tree text of a documentation file shared with the out-of-tree
# build: drop the paragraph after each ".. out-of-tree:" comment (with the
# blank line between them), put in the text of each ".. in-tree:" comment
# (its indented lines, unindented).
/^\.\. out-of-tree:$/ { skip = 1; getline; next }
/^\.\. in-tree:$/ { intree = 1; next }
skip {
	if ($0 == "")
		skip = 0
	next
}
intree {
	if ($0 == "") {
		print
		next
	}
	if (sub(/^   /, "")) {
		print
		next
	}
	intree = 0
}
{ print }
