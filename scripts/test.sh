#!/bin/bash
# The test command: installs the dependencies, checks the formatting of the
# C sources against .clang-format and the layering of src/ (scripts/check-layers.py), then builds and tests smbfuse four ways,
# each in its own build directory:
#   build-release/ Release (-O2), -Werror    unit tests (the README's build)
#   build/       Debug, -Werror              every test (unit, integration, shell)
#   build-asan/  ASan + UBSan                unit + integration tests again
#   build-tsan/  TSan                        tests labelled "tsan"
#   build-fuzz/  clang, libFuzzer + ASan     tests labelled "fuzz" (seeded runs)
# and ends with one line, "N passed, N failed", over all ctest runs.
# Exits non-zero if anything failed. Integration tests need root (they run
# private smbd servers and FUSE mounts).
#
# Environment:
#   SMBFUSE_BUILD_PREFIX   build directory prefix (default: <source>/build)
#   SMBFUSE_STAGES         which stages to run (default: "format release debug asan tsan fuzz")
#   SMBFUSE_NO_DEPS=1      skip scripts/install-deps.sh
#   SMBFUSE_CTEST_ARGS     extra ctest arguments (e.g. "-R harness")
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${SMBFUSE_BUILD_PREFIX:-$SRC/build}
STAGES=${SMBFUSE_STAGES:-format release debug asan tsan fuzz}
JOBS=${SMBFUSE_JOBS:-2}
read -r -a EXTRA_CTEST <<<"${SMBFUSE_CTEST_ARGS:-}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
# CI has no terminal: no prompt may wait for one.
export DEBIAN_FRONTEND=noninteractive

total_pass=0
total_fail=0
failures=()
START=$(date +%s)

say() { printf '\n=== [%4ss] %s\n' "$(($(date +%s) - START))" "$*"; }

# Notes a failure that has no ctest count (configure or build).
stage_failed() {
    total_fail=$((total_fail + 1))
    failures+=("$1")
    echo "!!! $1"
}

# run_ctest NAME BUILD_DIR ctest-args...: runs ctest, adds its counts.
run_ctest() {
    local name=$1 dir=$2 log rc=0 line pct nfail ntotal
    shift 2
    log=$dir/ctest-summary.log
    say "$name: ctest $*"
    (cd "$dir" && ctest --output-on-failure --no-tests=ignore --timeout 900 -j"$JOBS" \
        "$@" "${EXTRA_CTEST[@]}") 2>&1 | tee "$log" || rc=$?
    # "100% tests passed, 0 tests failed out of 12"
    line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
    if [ -n "$line" ]; then
        nfail=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
        ntotal=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
        total_pass=$((total_pass + ntotal - nfail))
        total_fail=$((total_fail + nfail))
        [ "$nfail" -eq 0 ] || failures+=("$name: $nfail of $ntotal tests failed")
        [ "$rc" -eq 0 ] || [ "$nfail" -ne 0 ] || stage_failed "$name: ctest exited $rc"
    elif [ "$rc" -eq 0 ]; then
        # --no-tests=ignore: nothing matched, nothing ran, nothing failed.
        echo "($name: no tests matched)"
    else
        stage_failed "$name: ctest printed no summary (exit $rc)"
    fi
}

# configure_build NAME DIR [cmake args...] -- [targets...]
configure_build() {
    local name=$1 dir=$2 args=() targets=()
    shift 2
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do args+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    targets=("$@")
    say "$name: configure $dir"
    mkdir -p "$dir"
    if ! cmake -S "$SRC" -B "$dir" -DCMAKE_BUILD_TYPE=Debug "${args[@]}" >"$dir/configure.log" 2>&1; then
        cat "$dir/configure.log"
        stage_failed "$name: cmake configure failed"
        return 1
    fi
    say "$name: build"
    local t=()
    for x in "${targets[@]}"; do t+=(--target "$x"); done
    # -k: build every target that can be built, so that one broken file
    # still lets the tests of everything else run (and report).
    if ! cmake --build "$dir" -j"$JOBS" "${t[@]}" -- -k; then
        stage_failed "$name: build failed"
    fi
    return 0
}

# Test names of a build directory that carry label $2 (ctest -N listing).
labelled_tests() {
    (cd "$1" && ctest -N -L "$2" 2>/dev/null) | sed -n 's/^ *Test *#[0-9]*: *//p'
}

# Criterion cannot start under ThreadSanitizer on Linux x86-64: its
# BoxFort arena wants a fixed mapping in the range TSan reserves for its
# shadow memory ("Could not initialize inheritable arena", Criterion issue
# 274). A one-line probe tells whether that holds here; if it does, the
# tsan-labelled tests that link Criterion are left out, loudly, and only
# plain executables run under TSan. Prints a ctest -E regex, or nothing.
tsan_criterion_exclusions() {
    local dir=$1 probe=$1/criterion-tsan-probe names
    printf '#include <criterion/criterion.h>\nTest(probe, runs) { cr_assert(1); }\n' >"$probe.c"
    if ! cc -fsanitize=thread -o "$probe" "$probe.c" -lcriterion >/dev/null 2>&1; then
        echo "(tsan: cannot build the Criterion probe; running every tsan test)" >&2
        return 0
    fi
    if "$probe" >"$probe.log" 2>&1; then
        return 0
    fi
    names=$( (cd "$dir" && ctest --show-only=json-v1 -L tsan) | /usr/bin/python3 -c '
import json, subprocess, sys
for t in json.load(sys.stdin)["tests"]:
    exe = t.get("command", [""])[0]
    try:
        libs = subprocess.run(["ldd", exe], capture_output=True, text=True).stdout
    except OSError:
        continue
    if "libcriterion" in libs:
        print(t["name"])
')
    [ -n "$names" ] || return 0
    {
        echo "!!! tsan: Criterion does not run under TSan here: $(head -n 1 "$probe.log")"
        echo "!!! tsan: NOT run under TSan (Criterion executables):" $names
        echo "!!! tsan: give them a plain main() driver to have them checked for races"
    } >&2
    printf '^(%s)$' "$(tr '\n' '|' <<<"$names" | sed 's/|$//')"
}

# Servers whose test is gone: left behind by a crashed earlier run, or
# (at the end) by a test that did not stop its own server.
reap_servers() {
    # shellcheck source=../tests/integration/harness/smbd.sh
    (. "$SRC/tests/integration/harness/smbd.sh" && harness_cleanup "${1:-}") || true
}

if [ "${SMBFUSE_NO_DEPS:-0}" != 1 ]; then
    say "dependencies"
    "$SRC/scripts/install-deps.sh"
fi
[ "$(id -u)" = 0 ] || echo "warning: not root; the integration tests need root and will fail" >&2
say "environment"
uname -srm
cc --version | head -n 1 || true
clang --version | head -n 1 || true
cmake --version | head -n 1 || true
/usr/sbin/smbd --version || true
reap_servers quiet

for stage in $STAGES; do
    case $stage in
    format)
        # One formatter for everyone (STYLE.md): every tracked C file as
        # clang-format would write it. Counted as one check.
        say "format: clang-format --dry-run -Werror"
        if ! command -v clang-format >/dev/null; then
            stage_failed "format: clang-format is not installed"
            continue
        fi
        bad=()
        while IFS= read -r f; do
            clang-format --dry-run -Werror "$SRC/$f" >/dev/null 2>&1 || bad+=("$f")
        done < <(cd "$SRC" && git ls-files '*.c' '*.h' 2>/dev/null)
        if [ "${#bad[@]}" -eq 0 ]; then
            echo "format: every C file is clang-formatted"
            total_pass=$((total_pass + 1))
        else
            printf 'format: not clang-formatted (fix with clang-format -i): %s\n' "${bad[@]}"
            stage_failed "format: ${#bad[@]} file(s) not clang-formatted"
        fi
        # The layers of src/ (src/README.md): includes point down, no cycle,
        # fuse/ sees only the public headers, no file over 900 lines.
        say "format: scripts/check-layers.py"
        if /usr/bin/python3 "$SRC/scripts/check-layers.py"; then
            total_pass=$((total_pass + 1))
        else
            stage_failed "format: scripts/check-layers.py found includes against the layers"
        fi
        ;;
    release)
        # The README's build (-O2): gcc warns at -O2 about what it does not
        # see at -O0 (format truncation), and -Werror makes that a broken
        # build for the user. Everything is built; the unit tests run.
        if configure_build release "$PREFIX-release" -DCMAKE_BUILD_TYPE=Release; then
            run_ctest release "$PREFIX-release" -L unit
        fi
        ;;
    debug)
        if configure_build debug "$PREFIX"; then
            run_ctest debug "$PREFIX"
        fi
        ;;
    asan)
        if configure_build asan "$PREFIX-asan" -DSMBFUSE_ASAN=ON; then
            # Tests labelled no_asan run none of our code that the others
            # do not (tests/CMakeLists.txt says which and why): once is enough.
            run_ctest asan "$PREFIX-asan" -L 'unit|integration' -LE no_asan
        fi
        ;;
    tsan)
        # Configure first: only tests labelled tsan run, and when there are
        # none the (long) TSan build is skipped.
        mkdir -p "$PREFIX-tsan"
        say "tsan: configure"
        if ! cmake -S "$SRC" -B "$PREFIX-tsan" -DCMAKE_BUILD_TYPE=Debug -DSMBFUSE_TSAN=ON \
            >"$PREFIX-tsan/configure.log" 2>&1; then
            cat "$PREFIX-tsan/configure.log"
            stage_failed "tsan: cmake configure failed"
        elif [ -z "$(labelled_tests "$PREFIX-tsan" tsan)" ]; then
            echo "(tsan: no test is labelled tsan; build skipped)"
        elif configure_build tsan "$PREFIX-tsan" -DSMBFUSE_TSAN=ON; then
            tsan_exclude=$(tsan_criterion_exclusions "$PREFIX-tsan")
            if [ -n "$tsan_exclude" ]; then
                run_ctest tsan "$PREFIX-tsan" -L tsan -E "$tsan_exclude"
            else
                run_ctest tsan "$PREFIX-tsan" -L tsan
            fi
        fi
        ;;
    fuzz)
        mkdir -p "$PREFIX-fuzz"
        say "fuzz: configure (clang)"
        if ! CC=clang cmake -S "$SRC" -B "$PREFIX-fuzz" -DCMAKE_BUILD_TYPE=Debug \
            -DCMAKE_C_COMPILER=clang -DSMBFUSE_FUZZ=ON -DSMBFUSE_ASAN=ON \
            >"$PREFIX-fuzz/configure.log" 2>&1; then
            cat "$PREFIX-fuzz/configure.log"
            stage_failed "fuzz: cmake configure failed"
        else
            # Only the fuzz targets (each test is named after its target).
            mapfile -t fz < <(labelled_tests "$PREFIX-fuzz" fuzz)
            if [ "${#fz[@]}" -eq 0 ]; then
                echo "(fuzz: no fuzz targets)"
            elif configure_build fuzz "$PREFIX-fuzz" -DCMAKE_C_COMPILER=clang \
                -DSMBFUSE_FUZZ=ON -DSMBFUSE_ASAN=ON -- "${fz[@]}"; then
                # The fuzzers run 9 s each (SMBFUSE_FUZZ_SECONDS); serially they would not share
                # the two cores with anything, in parallel they halve that.
                run_ctest fuzz "$PREFIX-fuzz" -L fuzz
            fi
        fi
        ;;
    *)
        stage_failed "unknown stage '$stage'"
        ;;
    esac
done
say "servers left behind by tests (should be none)"
reap_servers

say "done in $(($(date +%s) - START)) s"
for f in "${failures[@]}"; do echo "failed: $f"; done
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
