#!/usr/bin/env bash
#
# test.sh: the test command of regauth. Run it as root from anywhere:
#
#     sudo scripts/test.sh
#
# Stages, in order:
#   1. packages: install the Debian packages the tests drive, if any is
#      missing (Debian 12, Go 1.26 at /usr/local/go);
#   2. vet and unit: go vet, then the unit and in-process integration tests,
#      with a throwaway redis-server exported as REGAUTH_TEST_REDIS;
#   3. e2e: regauth and the upstream registry:2 and registry:3 code, driven
#      by a private dockerd and skopeo, with the registries reachable at a
#      non-loopback address inside a network namespace.
#
# Whatever it starts or creates lives under one temporary directory or under
# the fixed names below, and is removed on exit, whether the tests passed or
# not. Only one run at a time: the namespace name is global.

set -euo pipefail

# The "registry host" of the end-to-end tests. Docker treats registries on
# 127.0.0.0/8 as insecure and skips TLS verification, so only a non-loopback
# address really tests the CA and the IP subjectAltName. A network namespace
# joined to this host by a veth pair keeps that address on this machine.
readonly NETNS=regauth-e2e
readonly VETH_HOST=regauth-h # interface names are limited to 15 bytes
readonly VETH_NS=regauth-n
readonly SUBNET=10.213.7.0/24
readonly HOST_ADDR=10.213.7.1
readonly REGISTRY_HOST=10.213.7.2
readonly PREFIX_LEN=24

readonly REDIS_PORTS=(6390 6391 6392 6393 6394 6395 6396 6397 6398 6399)
readonly LOCK_FILE=/run/regauth-test.lock
readonly E2E_TIMEOUT=45m # CI stops the whole job at 90 minutes

# Certificate directories the end-to-end tests may write per registry
# (HOST:PORT/ca.crt): dockerd reads the first, skopeo both.
readonly CERTS_DIRS=(/etc/docker/certs.d /etc/containers/certs.d)

# System paths that this run may create: the tests write the certificate
# directories, and dockerd 20.10 writes its identity key on first start.
# Those absent before the run are removed after it. Deepest first.
readonly SYSTEM_PATHS=(/etc/docker/key.json "${CERTS_DIRS[@]}" /etc/docker)

# A file each Debian package installs, mapped to the package.
declare -A PACKAGE_OF=(
	[/usr/sbin/dockerd]=docker.io
	[/usr/bin/containerd]=containerd
	[/usr/bin/redis-server]=redis-server
	[/usr/bin/redis-cli]=redis-tools
	[/usr/bin/skopeo]=skopeo
	[/usr/bin/htpasswd]=apache2-utils
	[/usr/sbin/ip]=iproute2
	[/usr/bin/curl]=curl
	[/usr/bin/openssl]=openssl
	[/etc/ssl/certs/ca-certificates.crt]=ca-certificates
	[/usr/bin/setsid]=util-linux
	[/usr/sbin/nginx]=nginx-light
	[/usr/bin/docker-compose]=docker-compose
)

# State the exit trap cleans up.
work=""
stage="setup"
started=$SECONDS
redis_pid=""
containerd_pid=""
dockerd_pid=""
foreground_pid=""
created_paths=()
cleanup_problems=()

say() { printf '\n==> %s\n' "$*"; }
warn() { printf 'test.sh: warning: %s\n' "$*" >&2; }
die() {
	printf 'test.sh: %s\n' "$*" >&2
	exit 1
}

# elapsed prints the seconds since the run started as 3m07s.
elapsed() {
	local s=$((SECONDS - started))
	printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# enter_stage names the stage the closing line reports if the run fails.
enter_stage() {
	stage=$1
	say "$stage (at $(elapsed))"
}

# wait_for DESC PID SECONDS CMD...: polls CMD until it succeeds, failing when
# the process PID exits first or SECONDS pass.
wait_for() {
	local desc=$1 pid=$2 seconds=$3
	shift 3
	local i tries=$((seconds * 5))
	for ((i = 0; i < tries; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		kill -0 "$pid" 2>/dev/null || die "$desc exited during startup; see its log above"
		sleep 0.2
	done
	die "$desc not ready after ${seconds}s"
}

# stop_pid NAME PID SECONDS: asks a child process to stop, kills it after
# SECONDS, and reaps it.
stop_pid() {
	local name=$1 pid=$2 seconds=$3 i
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < seconds * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		cleanup_problems+=("$name did not stop in ${seconds}s; killed")
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null || true
}

# run_killable CMD...: runs CMD in its own session and waits for it. A signal
# to this script then interrupts the wait at once, and the exit trap can stop
# CMD together with everything it started (go test forks test binaries).
run_killable() {
	setsid "$@" 9>&- &
	foreground_pid=$!
	local status=0
	wait "$foreground_pid" || status=$?
	foreground_pid=""
	return "$status"
}

# stop_foreground stops an interrupted run_killable command and its session.
stop_foreground() {
	[[ -n $foreground_pid ]] || return 0
	local i
	kill -TERM -- "-$foreground_pid" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 -- "-$foreground_pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL -- "-$foreground_pid" 2>/dev/null
	wait "$foreground_pid" 2>/dev/null
	cleanup_problems+=("interrupted command did not stop in 10s; killed")
}

# ---------------------------------------------------------------- packages

install_missing_packages() {
	local -A wanted=()
	local file
	for file in "${!PACKAGE_OF[@]}"; do
		[[ -e $file ]] || wanted[${PACKAGE_OF[$file]}]=1
	done
	if ((${#wanted[@]} == 0)); then
		echo "all packages present"
		return
	fi

	echo "installing: ${!wanted[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine may still be running unattended-upgrades: wait for it.
	local apt=(apt-get -qq -o DPkg::Lock::Timeout=300)
	"${apt[@]}" update
	# No recommends: docker.io would also pull needrestart, git, apparmor.
	"${apt[@]}" install -y --no-install-recommends "${!wanted[@]}" </dev/null
}

# find_go puts the Go toolchain on PATH; sudo resets PATH to secure_path.
find_go() {
	if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
		export PATH=/usr/local/go/bin:$PATH
	fi
	command -v go >/dev/null || die "no go on PATH and none at /usr/local/go/bin"
}

print_versions() {
	go version
	dockerd --version
	containerd --version
	skopeo --version
	redis-server --version
}

# ------------------------------------------------------------------- redis

# start_redis starts a memory-only redis-server on the first free loopback
# port of REDIS_PORTS and exports its address as REGAUTH_TEST_REDIS.
start_redis() {
	local port="" candidate
	for candidate in "${REDIS_PORTS[@]}"; do
		if [[ -z $(ss -Hltn "sport = :$candidate") ]]; then
			port=$candidate
			break
		fi
	done
	[[ -n $port ]] || die "no free port for redis-server in ${REDIS_PORTS[*]}"

	mkdir -p "$work/redis"
	redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
		--dir "$work/redis" --logfile "$work/logs/redis.log" --daemonize no 9>&- &
	redis_pid=$!
	wait_for redis-server "$redis_pid" 20 redis_answers "$port"

	export REGAUTH_TEST_REDIS=127.0.0.1:$port
	echo "redis-server at $REGAUTH_TEST_REDIS"
}

redis_answers() {
	[[ $(redis-cli -h 127.0.0.1 -p "$1" ping) == PONG ]]
}

# ------------------------------------------------------------------ docker

# start_dockerd starts a containerd and a dockerd of our own, with all state
# under $work/docker, and exports DOCKER_HOST. Our own containerd, rather
# than the one dockerd would manage, because dockerd silently attaches to a
# system containerd whenever /run/containerd/containerd.sock exists.
start_dockerd() {
	local dir=$work/docker
	mkdir -p "$dir/data" "$dir/exec" "$dir/containerd-root" "$dir/containerd-state"
	write_containerd_config "$dir" >"$dir/containerd.toml"
	# An empty daemon.json keeps /etc/docker/daemon.json out of the run.
	echo '{}' >"$dir/daemon.json"

	containerd --config "$dir/containerd.toml" >"$work/logs/containerd.log" 2>&1 9>&- &
	containerd_pid=$!
	wait_for containerd "$containerd_pid" 30 test -S "$dir/containerd.sock"

	dockerd --config-file "$dir/daemon.json" \
		--containerd "$dir/containerd.sock" \
		--data-root "$dir/data" --exec-root "$dir/exec" \
		--pidfile "$dir/dockerd.pid" --host "unix://$dir/docker.sock" \
		--storage-driver=vfs --iptables=false --bridge=none \
		>"$work/logs/dockerd.log" 2>&1 9>&- &
	dockerd_pid=$!
	wait_for dockerd "$dockerd_pid" 60 \
		curl -fsS --unix-socket "$dir/docker.sock" http://docker/_ping

	export DOCKER_HOST=unix://$dir/docker.sock
	# Logins of the tests go here, not into root's ~/.docker.
	export DOCKER_CONFIG=$work/docker-config
	mkdir -p "$DOCKER_CONFIG"
}

# write_containerd_config DIR prints a containerd config that keeps every
# path under DIR and leaves out the Kubernetes CRI plugin.
write_containerd_config() {
	cat <<EOF
version = 2
root = "$1/containerd-root"
state = "$1/containerd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$1/containerd.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "$1/containerd-root/opt"
EOF
}

# use_packaged_docker_client makes "docker" the client of the docker.io
# package, the one that matches its dockerd, so a newer client earlier on
# PATH (say in /usr/local/bin) does not change what the tests exercise.
use_packaged_docker_client() {
	local client=/usr/bin/docker
	[[ -x $client ]] || die "no docker client at $client (package docker.io)"
	ln -s "$client" "$work/bin/docker"
	export PATH=$work/bin:$PATH
	docker version --format 'docker client {{.Client.Version}}, dockerd {{.Server.Version}}'
}

# -------------------------------------------------------- network namespace

# create_netns makes NETNS with REGISTRY_HOST on a veth pair whose host end
# is HOST_ADDR. The smoke test in ./e2e checks that the host reaches it.
create_netns() {
	if [[ -n $(ip -o addr show to "$SUBNET") ]]; then
		die "$SUBNET is already in use on this host; cannot create $NETNS"
	fi

	ip netns add "$NETNS"
	ip link add "$VETH_HOST" type veth peer name "$VETH_NS"
	ip link set "$VETH_NS" netns "$NETNS"
	ip addr add "$HOST_ADDR/$PREFIX_LEN" dev "$VETH_HOST"
	ip link set "$VETH_HOST" up
	ip -n "$NETNS" addr add "$REGISTRY_HOST/$PREFIX_LEN" dev "$VETH_NS"
	ip -n "$NETNS" link set "$VETH_NS" up
	ip -n "$NETNS" link set lo up
	echo "netns $NETNS: registry host $REGISTRY_HOST, this host $HOST_ADDR"
}

# delete_netns removes NETNS, everything still running in it and the veth
# pair. It also clears what an interrupted earlier run left behind.
delete_netns() {
	if [[ -e /run/netns/$NETNS ]]; then
		local pids
		pids=$(ip netns pids "$NETNS" 2>/dev/null || true)
		if [[ -n $pids ]]; then
			# shellcheck disable=SC2086 # one pid per word
			kill -TERM $pids 2>/dev/null || true
			sleep 1
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null || true
		fi
		ip netns delete "$NETNS" || cleanup_problems+=("could not delete netns $NETNS")
	fi
	# Deleting the namespace deletes the pair, though not always at once;
	# this covers a half-made one. A pair that vanished meanwhile is fine.
	if ip link show "$VETH_HOST" >/dev/null 2>&1; then
		ip link delete "$VETH_HOST" 2>/dev/null ||
			! ip link show "$VETH_HOST" >/dev/null 2>&1 ||
			cleanup_problems+=("could not delete $VETH_HOST")
	fi
}

# ------------------------------------------------------------ system paths

# note_absent_paths remembers which SYSTEM_PATHS do not exist yet. It runs
# after the package install, so that what a system docker.service started
# by that install creates is left alone.
note_absent_paths() {
	local path
	for path in "${SYSTEM_PATHS[@]}"; do
		[[ -e $path ]] || created_paths+=("$path")
	done
}

# remove_created_paths removes the SYSTEM_PATHS this run created; a directory
# only when it is empty.
remove_created_paths() {
	local path
	for path in "${created_paths[@]}"; do
		if [[ -d $path ]]; then
			rmdir "$path" 2>/dev/null || true
		else
			rm -f "$path"
		fi
	done
}

# remove_registry_certs removes the per-registry CAs the tests trusted: every
# entry for REGISTRY_HOST, which belongs to this script alone.
remove_registry_certs() {
	local dir
	for dir in "${CERTS_DIRS[@]}"; do
		rm -rf "${dir:?}/$REGISTRY_HOST":* "${dir:?}/$REGISTRY_HOST"
	done
}

# ----------------------------------------------------------------- cleanup

# unmount_under unmounts whatever is still mounted below a directory (dockerd
# bind-mounts its data root and undoes it only on a clean shutdown).
unmount_under() {
	local mounts
	mounts=$(awk -v root="$1/" 'index($5, root) == 1 { print $5 }' /proc/self/mountinfo |
		sort -r)
	local mount
	for mount in $mounts; do
		umount "$mount" 2>/dev/null || umount -l "$mount" ||
			cleanup_problems+=("could not unmount $mount")
	done
}

# show_logs prints the end of each daemon log, less the info chatter, before
# cleanup deletes them.
show_logs() {
	local log
	for log in "$work"/logs/*.log; do
		[[ -s $log ]] || continue
		printf '\n--- %s, last lines above level info\n' "${log##*/}"
		grep -Ev 'level=(info|debug)' "$log" | tail -n 20
	done
}

cleanup() {
	local status=$?
	trap '' INT TERM
	set +e

	stop_foreground
	if [[ -n $work ]]; then
		((status == 0)) || show_logs
		stop_pid dockerd "$dockerd_pid" 30
		stop_pid containerd "$containerd_pid" 15
		stop_pid redis-server "$redis_pid" 10
		delete_netns
		remove_registry_certs
		remove_created_paths
		unmount_under "$work"
		rm -rf "$work" || cleanup_problems+=("could not remove $work")
	fi

	local problem
	for problem in "${cleanup_problems[@]}"; do
		warn "cleanup: $problem"
	done
	if ((status == 0)); then
		printf '\n==> test.sh: PASSED: vet, unit and end-to-end tests in %s\n' "$(elapsed)"
	elif ((status == 130 || status == 143)); then
		printf '\n==> test.sh: INTERRUPTED in stage "%s" after %s\n' "$stage" "$(elapsed)"
	else
		printf '\n==> test.sh: FAILED in stage "%s" (exit %d) after %s\n' \
			"$stage" "$status" "$(elapsed)"
	fi
	exit "$status"
}

# ------------------------------------------------------------------ stages

prepare() {
	if ((EUID != 0)); then
		die "run as root (sudo scripts/test.sh): it starts dockerd and makes a netns"
	fi
	cd "$(dirname "${BASH_SOURCE[0]}")/.."
	[[ -f go.mod ]] || die "cannot find the repository root"

	# Children get "9>&-" so a leaked process cannot keep holding the lock.
	exec 9>"$LOCK_FILE"
	flock -n 9 || die "another scripts/test.sh holds $LOCK_FILE"

	work=$(mktemp -d /tmp/regauth-test.XXXXXX)
	mkdir -p "$work/bin" "$work/logs"
	# A run that was killed outright (SIGKILL, power loss) leaves these.
	delete_netns
	remove_registry_certs
}

vet_and_unit_tests() {
	enter_stage "go vet"
	go vet ./...
	if [[ -d e2e ]]; then
		go vet -tags e2e ./e2e/...
	fi

	enter_stage "unit and integration tests"
	start_redis
	run_killable go test -count=1 ./...
}

build_binaries() {
	enter_stage "build"
	if ! compgen -G 'e2e/*_test.go' >/dev/null; then
		die "./e2e has no tests: the end-to-end stage cannot run"
	fi
	[[ -d cmd/regauth ]] || die "./cmd/regauth does not exist: nothing to test end to end"
	# Binaries for tests: no VCS stamp, so a clone owned by another user
	# than root (sudo) builds too.
	go build -buildvcs=false -o "$work/bin/regauth" ./cmd/regauth ||
		die "./cmd/regauth does not build"
	go build -buildvcs=false -o "$work/bin/registry2" ./internal/testregistry/v2
	go build -buildvcs=false -o "$work/bin/registry3" ./internal/testregistry/v3
}

end_to_end_tests() {
	build_binaries

	enter_stage "start dockerd and $NETNS"
	start_dockerd
	use_packaged_docker_client
	create_netns

	enter_stage "end-to-end tests"
	REGAUTH_BIN=$work/bin/regauth \
		REGISTRY2_BIN=$work/bin/registry2 \
		REGISTRY3_BIN=$work/bin/registry3 \
		REGAUTH_E2E_NETNS=$NETNS \
		REGAUTH_E2E_HOST=$REGISTRY_HOST \
		REGISTRY_AUTH_FILE=$work/containers-auth.json \
		run_killable go test -tags e2e -count=1 -v -timeout "$E2E_TIMEOUT" ./e2e/...
}

main() {
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	prepare

	enter_stage "packages"
	install_missing_packages
	note_absent_paths
	find_go
	print_versions
	# distribution v3 otherwise tries to export traces over the network.
	export OTEL_TRACES_EXPORTER=none

	vet_and_unit_tests
	end_to_end_tests
}

main "$@"
