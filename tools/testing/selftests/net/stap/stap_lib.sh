# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared by the KTAP shell tests (stap_tool.sh, stap_dkms.sh): each sets
# TESTS to its test names before sourcing this file.

# shellcheck disable=SC2034
KSFT_SKIP=4

# expect WHAT GOT WANT: fail, saying so, unless GOT is WANT.
expect() {
	if [ "$2" != "$3" ]; then
		echo "# $1: expected '$3', got '$2'"
		return 1
	fi
}

# ktap_skip_all REASON: the plan's every test skipped; exits.
ktap_skip_all() {
	local t num=0

	for t in "${TESTS[@]}"; do
		num=$((num + 1))
		echo "ok $num $t # SKIP $1"
	done
	echo "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:${#TESTS[@]} error:0"
	exit "$KSFT_SKIP"
}
