#!/usr/bin/env bash
# scripts/lint-layers on a small graph in CMake's --graphviz form: an allowed graph passes, a
# forbidden link and a target without a rule each fail with a line naming them.
set -u
lint=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() {  # check <want-rc> <want-stderr-substring> <dot-lines...>
  local want_rc=$1 want=$2; shift 2
  printf '%s\n' "$@" >"$tmp/g.dot"
  local err rc
  err=$("$lint" --dot "$tmp/g.dot" --rules "$tmp/rules.md" 2>&1 >/dev/null); rc=$?
  if [[ $rc -eq $want_rc && "$err" == *"$want"* ]]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: rc=$rc err=$err (want $want_rc, '$want')" >&2; fi
}
cat >"$tmp/rules.md" <<'RULES'
Some prose first.
```layers
core: OpenSSL::Crypto  # a comment
chain: core
wallet: chain
```
RULES
ok='"n1" -> "n2" // tensority_chain -> tensority_core'
check 0 "" "$ok" '"n3" -> "n1" // tensority_wallet -> tensority_chain' '"n9" -> "n8" // test_wallet -> tensority_node'
check 1 "wallet links node, which docs/architecture.md does not allow" "$ok" '"n3" -> "n4" // tensority_wallet -> tensority_node'
check 1 "chain links PkgConfig::ROCKSDB" '"n1" -> "n5" // tensority_chain -> PkgConfig::ROCKSDB'
check 1 "tensority_pool: not in the layers table" "$ok" '"n6" -> "n1" // tensority_pool -> tensority_chain'
echo "lint-layers: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
