#!/usr/bin/env bash
# bench/run.sh measures regauth's token endpoint against a ceiling: a bare
# Go TLS server that signs one ES256 token per request and does nothing
# else. Everything runs on loopback, side by side in one run, and stops by
# itself; docs/performance.md explains the scenarios and the figures.
#
#   bench/run.sh                     # from the repository root; about 2 minutes
#   BENCH_DURATION=5s bench/run.sh   # shorter runs
#   BENCH_KEEP=1 bench/run.sh        # keep the wrk outputs and server logs
#
# It installs wrk with apt if it is missing, builds regauth and the helpers
# of bench/, makes two deployments with "regauth init" in a temporary
# folder (a small one, and one with 10,000 rules and 100,000 accounts),
# starts every server on a free 127.0.0.1 port, runs wrk against each
# scenario, prints a table, and stops what it started. It is not part of
# the test suite.
#
# Besides requests per second, each row shows the CPU time the server
# process spent per request and how many cores other processes kept busy
# meanwhile. Requests per second depend on whatever else the machine runs;
# CPU time per request hardly does, so when the "others" column is not
# near zero, compare that column rather than the rates.
set -euo pipefail

duration=${BENCH_DURATION:-10s}
conns=16
threads=2
n_rules=10000
n_users=100000

cd "$(dirname "$0")/.."
work=$(mktemp -d "${TMPDIR:-/tmp}/regauth-bench.XXXXXX")
declare -A port pid

cleanup() {
	local p
	for p in "${pid[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pid[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ "${BENCH_KEEP:-}" = 1 ]; then
		echo "kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '== %s\n' "$*" >&2; }

install_wrk() {
	command -v wrk >/dev/null && return
	say "installing wrk (apt)"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get install -y wrk >/dev/null 2>&1 ||
		{ $sudo apt-get update >/dev/null && $sudo apt-get install -y wrk >/dev/null; }
}

build() {
	say "building regauth and bench helpers"
	mkdir -p "$work/bin"
	go build -o "$work/bin/regauth" ./cmd/regauth
	go build -o "$work/bin/" ./bench/ceiling ./bench/freeport ./bench/gen
}

# deploy DIR: a deployment by "regauth init" with the account "bench".
deploy() {
	"$work/bin/regauth" init --dir "$1" --host 127.0.0.1 >/dev/null
	printf '%s' "$password" |
		"$work/bin/regauth" user add bench --password-stdin --config "$1/config.yaml" >/dev/null
}

# start NAME CMD...: runs CMD in the background, its output in
# $work/NAME.log, and waits until port[NAME] answers HTTPS.
start() {
	local name=$1
	shift
	"$@" >"$work/$name.log" 2>&1 &
	pid[$name]=$!
	local i
	for ((i = 0; i < 300; i++)); do
		if curl -sk -o /dev/null --max-time 1 "https://127.0.0.1:${port[$name]}/healthz"; then
			return
		fi
		if ! kill -0 "${pid[$name]}" 2>/dev/null; then
			say "$name exited; its log:" && cat "$work/$name.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	say "$name did not answer on port ${port[$name]} within 30s" && exit 1
}

# serve NAME DIR [ENV=VALUE...]: starts regauth serve on DIR's config.
# env execs regauth, so the pid recorded is regauth's own.
serve() {
	local name=$1 dir=$2
	shift 2
	start "$name" env REGAUTH_LOG_LEVEL=warn "$@" \
		"$work/bin/regauth" serve --config "$dir/config.yaml" --addr "127.0.0.1:${port[$name]}"
}

# busy_ticks: clock ticks all CPUs spent busy (user, nice, system, irq,
# softirq, steal) since boot.
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# proc_ticks PID: clock ticks the process spent on CPU (utime + stime).
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# measure LABEL SERVER anonymous|user: one wrk run, one row of results.
# One request goes first, so that a password the cache keeps is cached.
measure() {
	local label=$1 server=$2 who=$3
	local url="https://127.0.0.1:${port[$server]}/token?service=registry"
	url+="&scope=repository:public/app:pull"
	local curl_args=() wrk_args=()
	if [ "$who" = user ]; then
		curl_args=(-u "bench:$password")
		wrk_args=(-H "Authorization: Basic $(printf 'bench:%s' "$password" | base64 -w0)")
	fi
	local code
	code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 5 "${curl_args[@]}" "$url")
	[ "$code" = 200 ] || { say "$label: warm-up request answered $code" && exit 1; }

	say "$label ($duration)"
	local out="$work/wrk-$label.txt" b0 s0 t0 b1 s1 t1 wrk_cpu
	b0=$(busy_ticks) s0=$(proc_ticks "${pid[$server]}") t0=$(date +%s.%N)
	wrk_cpu=$( { TIMEFORMAT='%U %S'; time wrk -t"$threads" -c"$conns" -d"$duration" \
		--timeout 10s --latency "${wrk_args[@]}" "$url" >"$out" 2>&1; } 2>&1)
	b1=$(busy_ticks) s1=$(proc_ticks "${pid[$server]}") t1=$(date +%s.%N)

	local secs
	secs=$(echo "$t1 $t0" | awk '{ print $1 - $2 }')
	awk -v label="$label" -v hz="$(getconf CLK_TCK)" -v busy=$((b1 - b0)) \
		-v server=$((s1 - s0)) -v wrk_cpu="$wrk_cpu" -v secs="$secs" '
		function ms(v) {
			if (v ~ /us$/) return v / 1000
			if (v ~ /ms$/) return v + 0
			if (v ~ /s$/) return v * 1000
			return v
		}
		/^ +99%/ { p99 = ms($2) }
		/ requests in / { n = $1 }
		/^Requests\/sec:/ { rps = $2 }
		/Non-2xx or 3xx responses:/ { bad = $NF }
		/Socket errors:/ { bad = bad "+sock" }
		END {
			split(wrk_cpu, w, " ")
			others = (busy / hz - server / hz - w[1] - w[2]) / secs
			printf "%s %s %.2f %.0f %.2f %s\n", label, rps, p99,
				1e6 * server / hz / n, (others < 0 ? 0 : others), (bad == "" ? 0 : bad)
		}' "$out" >>"$work/results"
}

report() {
	awk '
		NR == 1 { ceiling = $2; ceiling_cpu = $4 }
		{ rows[NR] = $0; n = NR }
		END {
			printf "%-22s %8s %8s %9s %11s %8s %7s %7s\n", "scenario", "req/s", "of ceil.",
				"p99 ms", "CPU us/req", "of ceil.", "others", "non-2xx"
			for (i = 1; i <= n; i++) {
				split(rows[i], f, " ")
				printf "%-22s %8.0f %7.1f%% %9.2f %11.0f %7.1f%% %7.2f %7s\n", f[1], f[2],
					100 * f[2] / ceiling, f[3], f[4], 100 * ceiling_cpu / f[4], f[5], f[6]
			}
		}' "$work/results"
}

main() {
	local tool
	for tool in go curl awk getconf; do
		command -v "$tool" >/dev/null || { say "$tool is required" && exit 1; }
	done
	install_wrk
	build

	password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	say "making deployments ($n_rules rules, $n_users accounts in the large one)"
	deploy "$work/small"
	deploy "$work/large"
	printf '%s\n' "$password" | "$work/bin/gen" -dir "$work/large" \
		-rules "$n_rules" -users "$n_users" -account bench

	local free
	mapfile -t free < <("$work/bin/freeport" -n 6)
	port[ceiling]=${free[0]} port[regauth]=${free[1]} port[nocache]=${free[2]}
	port[info]=${free[3]} port[large]=${free[4]} port[gogc]=${free[5]}

	say "starting servers"
	start ceiling "$work/bin/ceiling" -addr "127.0.0.1:${port[ceiling]}" \
		-cert "$work/small/pki/server.crt" -key "$work/small/pki/server.key"
	serve regauth "$work/small"
	serve nocache "$work/small" REGAUTH_PASSWORD_CACHE_TTL=0
	serve info "$work/small" REGAUTH_LOG_LEVEL=info
	serve gogc "$work/small" GOGC=100
	local t0=$SECONDS
	serve large "$work/large"
	say "large deployment answered after about $((SECONDS - t0))s"

	measure ceiling ceiling anonymous
	measure anonymous regauth anonymous
	measure user-cached regauth user
	measure user-bcrypt nocache user
	measure 10k-rules-100k-users large user
	measure info-anonymous info anonymous
	measure info-user-cached info user
	measure anonymous-gogc100 gogc anonymous

	echo
	report
	echo
	echo "wrk -t$threads -c$conns -d$duration --latency, keep-alive, 127.0.0.1;" \
		"$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
	echo "CPU us/req: the server process's CPU time per request; its 'of ceil.' is the"
	echo "ceiling's CPU time per request as a share of the row's. others: cores busy"
	echo "with processes other than the server and wrk, on average during the run."
	echo "info-*: log.level info, one audit record per request to a file" \
		"($(wc -l <"$work/info.log") lines, $(du -h "$work/info.log" | cut -f1));" \
		"the others log at warn."
	echo "anonymous-gogc100: GOGC=100, Go's default, in regauth's environment; regauth otherwise serves with 400."
}

main "$@"
