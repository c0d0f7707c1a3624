#!/usr/bin/env bash
# l2lb-deathstar, the lab's stand-in for docker.io/cilium/starwars: every
# route of the Death Star API, the error answers, and robustness — garbage,
# oversized and slow clients must never crash it or stop it from serving.
# Runs in a private network namespace (unshare -n), so port 80 is free.
set -euo pipefail

BUILD=${L2LB_BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
DS=$BUILD/lab/src/l2lb-deathstar

if [[ ${1:-} != --inside ]]; then
	exec unshare --net -- "$0" --inside
fi

ip link set lo up
"$DS" --hostname deathstar-test-pod --port 80 >/tmp/deathstar-test.$$.log 2>&1 &
ds=$!
trap 'kill $ds 2>/dev/null || true; rm -f /tmp/deathstar-test.$$.log' EXIT
for ((i = 0; i < 50; i++)); do
	curl -s -o /dev/null http://127.0.0.1/v1/healthz && break
	sleep 0.1
done

n=0
fail() {
	echo "FAIL: $*"
	exit 1
}
check() { # NAME EXPECTED-STATUS CURL-ARGS... ; body in $BODY
	local name=${1:?name} want=${2:?want} got
	shift 2
	BODY=$(curl -s -w '\n%{http_code}' --max-time 3 "$@") || fail "$name: curl failed"
	got=${BODY##*$'\n'}
	BODY=${BODY%$'\n'*}
	BODY=${BODY%$'\n'} # the body's own final newline
	[[ $got == "$want" ]] || fail "$name: HTTP $got, want $want"
	n=$((n + 1))
}
raw() { # send raw bytes, print the status line of the answer
	timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/80; cat >&3; head -n 1 <&3' 2>/dev/null | tr -d '\r' || true
}

expected=$(printf '%s\n' '{' \
	'	"name": "Death Star",' \
	'	"hostname": "deathstar-test-pod",' \
	'	"model": "DS-1 Orbital Battle Station",' \
	'	"manufacturer": "Imperial Department of Military Research, Sienar Fleet Systems",' \
	'	"cost_in_credits": "1000000000000",' \
	'	"length": "120000",' \
	'	"crew": "342953",' \
	'	"passengers": "843342",' \
	'	"cargo_capacity": "1000000000000",' \
	'	"hyperdrive_rating": "4.0",' \
	'	"starship_class": "Deep Space Mobile Battlestation",' \
	'	"api": [' \
	'		"GET   /v1",' \
	'		"GET   /v1/healthz",' \
	'		"POST  /v1/request-landing",' \
	'		"PUT   /v1/cargobay",' \
	'		"GET   /v1/hyper-matter-reactor/status",' \
	'		"PUT   /v1/exhaust-port"' \
	'	]' \
	'}')

check "GET /v1/" 200 http://127.0.0.1/v1/
[[ $BODY == "$expected" ]] || fail "GET /v1/ body differs from the seed's:"$'\n'"$BODY"
check "GET /v1" 200 http://127.0.0.1/v1
[[ $BODY == "$expected" ]] || fail "GET /v1 body differs"
check "GET /v1/?query" 200 'http://127.0.0.1/v1/?x=1'
check "healthz" 200 http://127.0.0.1/v1/healthz
check "request-landing" 200 -X POST -d '' http://127.0.0.1/v1/request-landing
[[ $BODY == "Ship landed" ]] || fail "request-landing: '$BODY'"
check "cargobay" 200 -X PUT -d 'cargo' http://127.0.0.1/v1/cargobay
check "reactor" 200 http://127.0.0.1/v1/hyper-matter-reactor/status
check "exhaust-port" 503 -X PUT http://127.0.0.1/v1/exhaust-port
[[ $BODY == "Panic: deathstar exploded"* ]] || fail "exhaust-port: '$BODY'"
check "wrong method" 405 -X DELETE http://127.0.0.1/v1/
check "unknown path" 404 http://127.0.0.1/v2/
head -c 32768 /dev/zero >/tmp/deathstar-test.$$.body
check "32 KiB body" 200 -X POST --data-binary "@/tmp/deathstar-test.$$.body" http://127.0.0.1/v1/request-landing
head -c 70000 /dev/zero >/tmp/deathstar-test.$$.body
check "70 KB body" 413 -X POST --data-binary "@/tmp/deathstar-test.$$.body" http://127.0.0.1/v1/request-landing
rm -f /tmp/deathstar-test.$$.body

[[ $(printf 'garbage\r\n\r\n' | raw) == "HTTP/1.1 400 Bad Request" ]] || fail "garbage request line"
[[ $(printf 'GET /v1/ HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n' | raw) == "HTTP/1.1 413 Payload Too Large" ]] || fail "huge Content-Length"
[[ $(printf 'GET /v1/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n' | raw) == "HTTP/1.1 400 Bad Request" ]] || fail "conflicting lengths"
[[ $(printf 'GET /v1/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n' | raw) == "HTTP/1.1 400 Bad Request" ]] || fail "chunked"
[[ $(head -c 20000 /dev/zero | tr '\0' a | raw) == "HTTP/1.1 431 Request Header Fields Too Large" ]] || fail "endless head"
[[ $(printf 'GET /v1/ HTTP/1.0\n\n' | raw) == "HTTP/1.1 200 OK" ]] || fail "bare LF line ends"
n=$((n + 6))

# slow clients hold connections open; the server keeps serving others
slow=()
for ((i = 0; i < 20; i++)); do
	timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/80; printf "GET /v1/ HT" >&3; sleep 2' 2>/dev/null &
	slow+=($!)
done
# garbage of every size, each connection half-closed after sending (the
# server must answer 400/431 or just close, and stay up)
/usr/bin/python3 - <<'PY' || fail "garbage clients failed"
import os, random, socket
random.seed(7)
for i in range(300):
    data = os.urandom(random.randint(1, 9000))
    if i % 3 == 0:  # a plausible start, then noise
        data = b"GET /v1/ HTTP/1.1\r\n" + data
    s = socket.create_connection(("127.0.0.1", 80), timeout=5)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
    except OSError:  # the server may answer and close first
        pass
    finally:
        s.close()
PY
check "after the garbage" 200 http://127.0.0.1/v1/
wait "${slow[@]}" 2>/dev/null || true
kill -0 "$ds" 2>/dev/null || fail "l2lb-deathstar died"
check "at the end" 200 http://127.0.0.1/v1/healthz
echo "l2lb-deathstar: $n checks and 300 garbage requests ok"
