#!/usr/bin/env bash
# Runs the real `tensority` binary: known answers, exit codes and JSON shapes.
set -u
bin=$1
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# expect_out <want-stdout> <args...>: exit 0 and stdout exactly want
expect_out() {
  local want=$1; shift
  local got rc
  got=$("$bin" "$@" 2>/dev/null); rc=$?
  if [[ $rc -eq 0 && "$got" == "$want" ]]; then ok; else bad "$* -> rc=$rc out=$got (want $want)"; fi
}
# expect_usage <stderr-substring> <args...>: exit 2, one line on stderr containing the substring
expect_usage() {
  local want=$1; shift
  local err rc
  err=$("$bin" "$@" 2>&1 >/dev/null); rc=$?
  local lines
  lines=$(printf '%s\n' "$err" | grep -c .)
  if [[ $rc -eq 2 && "$err" == *"$want"* && $lines -eq 1 ]]; then ok; else bad "$* -> rc=$rc lines=$lines err=$err (want '$want')"; fi
}

zero=$(printf '0%.0s' {1..64})
# Upstream vectors T01 and T11 through the default (fastest) kernel and the portable one.
expect_out e35da54795d82f8549c0e580cbf2e3757ab5ef8fed1bdbe439416c7e6f8df227 hash \
  --block-hash d0dad73fb2dabf3353fda15571b4e5f6ac62ff187b354fadd4840d9ff2f1afdf \
  --seed 0737520781345b11b7bd0f843c1bdd9aea81b6da94fd141cc9f2df53ac6744d2
expect_out c5d4a19ce842fee409696d14e483f9efe4a7ecc036d1cfeba0199f13f14dc90f hash \
  --block-hash "$zero" --seed "$zero" --device cpu:0
expect_out c5d4a19ce842fee409696d14e483f9efe4a7ecc036d1cfeba0199f13f14dc90f hash \
  --block-hash "$zero" --seed "$zero" --kernel portable_rowmajor

# Mainnet genesis header (docs/spec/tensority.md section 5): ID, PoW result, difficulty, validity.
genesis=0101000000000000000000000000000000000000000000000000000000000000000000e08ffbd6054058e45ceb675a0b3d7ad3ab9d4288048789de8194e9766b26d8f42fdb624d4390c9c377e5192668bc0a367e4a4764f11e7c725ecced1d7b6a492974fab1b6d5bce19f8080a88d02e8b68480808080801e
out=$("$bin" hash --header "$genesis" --json 2>/dev/null)
for want in '"block_id": "a75483474799ea1aa6bb910a1a5025b4372bf20bef20f246a2c2dc5e12e8a053"' \
            '"result": "3a9d8054' '78000000"' '"difficulty": "15154807"' '"pow_valid": true' \
            '"target": "0000011b68000000'; do
  if [[ "$out" == *"$want"* ]]; then ok; else bad "genesis header json lacks $want: $out"; fi
done
# Testnet genesis does not meet its own target (docs/spec/tensority.md section 9).
testnet=0101000000000000000000000000000000000000000000000000000000000000000000e8b287d9054058e45ceb675a0b3d7ad3ab9d4288048789de8194e9766b26d8f42fdb624d4390c9c377e5192668bc0a367e4a4764f11e7c725ecced1d7b6a492974fab1b6d5bce19f8080a88d02cc99b3808080808020
out=$("$bin" hash --header "$testnet" 2>/dev/null)
if [[ "$out" == *"ce4fe9431cd0225b3a811f8f8ec922f2b07a921bb12a8dddae9a85540072c770"* && "$out" == *"NOT valid"* ]]; then ok; else bad "testnet genesis: $out"; fi

# Bad input: one line, exit code 2, never a crash.
expect_usage "expected 64 hex digits" hash --block-hash abcd --seed "$zero"
expect_usage "invalid hex character 'g'" hash --block-hash "g${zero:1}" --seed "$zero"
expect_usage "--seed" hash --seed "${zero}00" --block-hash "$zero"
expect_usage "needs --seed" hash --block-hash "$zero"
expect_usage "exactly one of" hash --seed "$zero"
expect_usage "unknown device 'gpu9'" hash --block-hash "$zero" --seed "$zero" --device gpu9
expect_usage "unknown or unsupported" hash --block-hash "$zero" --seed "$zero" --kernel fastest
expect_usage "truncated" hash --header 0101
expect_usage "odd number" hash --header 010
expect_usage "trailing" hash --header "${genesis}00"
expect_usage "unknown device" bench --device opencl:3 --seconds 1
expect_usage "--kernel" bench --kernel nope --seconds 1
expect_usage "seconds" bench --seconds -1
# mine: every bad setting is one line naming where it came from, the key, the value and what is allowed.
tmp=$(mktemp -d)
printf 'pool: stratum+tcp://127.0.0.1:3333\nuser: a.b\napi:\n  port: 70000\n' >"$tmp/port.yaml"
printf 'devcie: cpu\n' >"$tmp/typo.yaml"
expect_usage "port.yaml:4: api.port: '70000' is out of range (integer 0..65535)" mine --config "$tmp/port.yaml"
expect_usage "typo.yaml:1: unknown key 'devcie' (did you mean 'device'?)" mine --config "$tmp/typo.yaml"
expect_usage "cannot read" mine --config "$tmp/missing.yaml"
expect_usage "--pool: 'http://x:1' is not valid" mine --pool http://x:1 --user a.b
expect_usage "--user is required with --pool" mine --pool stratum+tcp://127.0.0.1:3333
expect_usage "nothing to mine on" mine
expect_usage "unknown device 'cuda:9'" mine --benchmark --device cuda:9
"$bin" mine --example-config >"$tmp/example.yaml" 2>/dev/null && ok || bad "mine --example-config failed"
if [[ $(grep -c '^# ' "$tmp/example.yaml") -gt 20 ]]; then ok; else bad "example config too short"; fi
# A flag overrides what the file sets (the file says 2 threads, the flag 1).
printf 'benchmark: true\nthreads: 2\ndevice: cpu\napi:\n  enabled: false\n' >"$tmp/bench.yaml"
out=$("$bin" mine --config "$tmp/bench.yaml" --threads 1 --duration 1 2>&1); rc=$?
if [[ $rc -eq 0 && "$out" == *", 1 threads,"* ]]; then ok; else bad "mine file+flag: rc=$rc $out"; fi
out=$("$bin" mine --benchmark --device cpu --threads 1 --no-api --duration 3 2>&1); rc=$?
if [[ $rc -eq 0 && "$out" == *"summary: accepted"* && "$out" == *"hardware errors 0"* ]]; then ok; else bad "mine --benchmark: rc=$rc $out"; fi

# pool: bad settings are usage errors (exit 2, one line), found before anything is started.
# Port 1 on loopback has nothing listening: a node URL that is valid but unreachable.
node=http://127.0.0.1:1
expect_usage "--node is required" pool
expect_usage "--database: 'mysql://x' is not valid (sqlite:PATH or postgresql://USER@HOST:PORT/DB)" \
  pool --node "$node" --database mysql://x
expect_usage "--scheme: 'prop' is not allowed (one of: pplns, pps, solo)" pool --node "$node" --scheme prop
expect_usage "vardiff.min (100) is above vardiff.max (10)" \
  pool --node "$node" --min-difficulty 100 --max-difficulty 10
expect_usage "--max-difficulty: '99999999999' is out of range (integer 2..4294967296)" \
  pool --node "$node" --max-difficulty 99999999999
out=$("$bin" pool --example-config 2>/dev/null); rc=$?
if [[ $rc -eq 0 && "$out" == *"stratum:"* && "$out" == *"vardiff:"* ]]; then
  ok
else
  bad "pool --example-config: rc=$rc"
fi
# The example parses as a config file: with every setting commented out, only --node is missing.
printf '%s\n' "$out" >"$tmp/pool.yaml"
expect_usage "--node is required" pool --config "$tmp/pool.yaml"
# An unreachable node is a runtime failure: exit 1, one line. (--max-sessions keeps the
# "raise ulimit -n" warning away on hosts whose descriptor limit is below the default's need.)
err=$("$bin" pool --node "$node" --max-sessions 1000 --data-dir "$tmp/pool" 2>&1 >/dev/null); rc=$?
lines=$(printf '%s\n' "$err" | grep -c .)
if [[ $rc -eq 1 && $lines -eq 1 && "$err" == "tensority: failed: node $node: cannot reach the node at $node"* ]]; then
  ok
else
  bad "pool with an unreachable node -> rc=$rc lines=$lines err=$err"
fi
# wallet: bytomd's network names, each with its address prefix.
for pair in solonet:sm1 wisdom:tm1 testnet:tm1 regtest:sm1; do
  out=$("$bin" wallet --network "${pair%%:*}" --keystore "$tmp/ks-${pair%%:*}.json" create-key 2>/dev/null); rc=$?
  if [[ $rc -eq 0 && "$out" == "${pair##*:}"q* ]]; then ok; else bad "wallet --network ${pair%%:*} create-key: rc=$rc $out"; fi
done
expect_usage "--network" wallet --network moonnet create-key
rm -rf "$tmp"

expect_usage "" bogus-command
expect_usage "" hash --no-such-flag

# bench --json: one object with the documented keys and a positive rate.
out=$("$bin" bench --seconds 1 --threads 1 --json 2>/dev/null); rc=$?
for key in '"hashes_per_second"' '"threads": 1' '"device": "cpu:0"' '"kernel"'; do
  if [[ $rc -eq 0 && "$out" == *"$key"* ]]; then ok; else bad "bench json lacks $key (rc=$rc): $out"; fi
done
rate=$(printf '%s' "$out" | sed -n 's/^  "hashes_per_second": \([0-9.e+]*\).*/\1/p')
if awk -v r="$rate" 'BEGIN { exit !(r > 0) }'; then ok; else bad "bench rate not positive: $rate"; fi

# devices: the CPU device is listed in both forms.
out=$("$bin" devices 2>/dev/null)
if [[ "$out" == *"cpu:0"* ]]; then ok; else bad "devices text lacks cpu:0"; fi
out=$("$bin" devices --json 2>/dev/null)
for key in '"devices"' '"id": "cpu:0"' '"features"' '"backends"'; do
  if [[ "$out" == *"$key"* ]]; then ok; else bad "devices json lacks $key"; fi
done
"$bin" --help >/dev/null 2>&1 && ok || bad "--help failed"

echo "cli: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
