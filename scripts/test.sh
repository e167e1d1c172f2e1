#!/usr/bin/env bash
# Runs the project's test gates and always ends with one line `N passed, N failed[, N skipped]`.
#
#   scripts/test.sh                      every stage: lab unit integration molecule lint sanity
#   scripts/test.sh unit lint            only those stages
#
# The lab stage brings the lab up (scripts/lab.sh up, set-up assumed done) as a gate of its own,
# so a lab that fails to start is reported and counted while the other gates still run.
# Counting: each pytest test counts once (from its --junitxml report); the lab, each molecule
# scenario, ansible-lint, antsibull-docs lint, antsibull-changelog lint and ansible-test sanity count
# as one check each. A stage with nothing to test yet
# (no test files, no scenarios) says so and counts nothing; a stage whose files hold no test
# (pytest exit 5) counts as failed. Exit status is non-zero when anything failed.
#
# Knobs: VENV (default .venv), TEST_RESULTS (default build/test-results, junit XML and logs),
# TEST_VERBOSE=1 streams molecule output instead of showing its tail on failure,
# PYTEST_ADDOPTS (pytest's own) e.g. "-x -k restore", INTEGRATION_WORKERS (default 4: pytest-xdist
# workers for the integration stage, one per lab instance group of tests/conftest.py; 1 = serial),
# TEST_LANES (default 2; 1 runs every stage one after the other), MOLECULE_SCENARIOS (only these
# scenarios), MOLECULE_SKIP (all but these).
#
# Two lanes: with every stage asked for, the checks that need no shared lab instance (unit, lint,
# sanity and the molecule scenarios of LAB_FREE_SCENARIOS, which start instances of their own) run
# at a lower CPU priority beside the lab's lane (lab, integration, the other scenarios). The
# integration groups leave the cores idle in their tail, and the free lane fills that time; its
# output is shown, and its counts added, when the lab's lane is done.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
RESULTS="${TEST_RESULTS:-$ROOT/build/test-results}"
ALL_STAGES=(lab unit integration molecule lint sanity)
LAB_LANE=(lab integration molecule)
FREE_LANE=(unit lint sanity molecule)
# Molecule scenarios that start everything they use on ports of their own (no lab lock).
LAB_FREE_SCENARIOS="atlas"
export PATH="$VENV/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.collections"
export ANSIBLE_CONFIG="$ROOT/ansible.cfg"
export PY_COLORS=0 ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0

PASSED=0
FAILED=0
SKIPPED=0
TIMINGS=()
STAGE_PYTEST_ARGS=()

say() { printf 'test: %s\n' "$*"; }

# The closing line CI reads; printed on every exit path, including an unexpected error.
finish() {
  local status=$?
  trap - EXIT
  if ((status != 0 && FAILED == 0)); then
    say "aborted with status $status"
    FAILED=$((FAILED + 1))
  fi
  if ((${#TIMINGS[@]} > 0)); then
    echo "== stage timings"
    printf '  %s\n' "${TIMINGS[@]}"
  fi
  local line="$PASSED passed, $FAILED failed"
  ((SKIPPED > 0)) && line+=", $SKIPPED skipped"
  echo "$line"
  ((FAILED == 0)) && exit 0
  exit 1
}
trap finish EXIT

record() {
  # record STAGE PASSED FAILED SKIPPED SECONDS NOTE
  PASSED=$((PASSED + $2))
  FAILED=$((FAILED + $3))
  SKIPPED=$((SKIPPED + $4))
  TIMINGS+=("$(printf '%-26s %4ss  %s passed, %s failed, %s skipped%s' "$1" "$5" "$2" "$3" "$4" "${6:+  ($6)}")")
}

# A stage whose tests are missing fails: a deleted suite must not turn the summary green.
record_missing() {
  say "$1: FAILED, its tests are missing ($2)"
  record "$1" 0 1 0 0 "tests missing: $2"
}

# Prints "passed failed skipped" summed over every testsuite of a junit XML file.
junit_counts() {
  python - "$1" <<'EOF'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
tests = failed = skipped = 0
for suite in suites:
    tests += int(suite.get("tests", 0))
    failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped += int(suite.get("skipped", 0))
print(tests - failed - skipped, failed, skipped)
EOF
}

has_test_files() {
  local path
  for path in "$@"; do
    [[ -d "$ROOT/$path" ]] || continue
    if [[ -n "$(find "$ROOT/$path" \( -name 'test_*.py' -o -name '*_test.py' \) -print -quit)" ]]; then
      return 0
    fi
  done
  return 1
}

# run_pytest_stage STAGE PATH... ; the array STAGE_PYTEST_ARGS adds options for this stage only.
run_pytest_stage() {
  local stage="$1"
  shift
  local paths=() path
  for path in "$@"; do
    [[ -d "$ROOT/$path" ]] && paths+=("$path")
  done
  if ! has_test_files "${paths[@]}"; then
    record_missing "$stage" "no test_*.py under $*"
    return 0
  fi
  local xml="$RESULTS/$stage.xml" started=$SECONDS rc counts
  rm -f "$xml"
  say "$stage: pytest ${paths[*]}"
  (cd "$ROOT" && python -m pytest "${paths[@]}" "${STAGE_PYTEST_ARGS[@]}" --junitxml="$xml" -o junit_family=xunit2)
  rc=$?
  local seconds=$((SECONDS - started))
  if ((rc == 5)); then
    say "$stage: pytest collected no tests from files that should hold some"
    record "$stage" 0 1 0 "$seconds" "no tests collected"
    return 0
  fi
  if [[ ! -s "$xml" ]]; then
    record "$stage" 0 1 0 "$seconds" "pytest exit $rc, no report"
    return 0
  fi
  read -r -a counts < <(junit_counts "$xml")
  # Exit 2-4 (interrupted, internal or usage error) can come with zero failing tests.
  if ((rc != 0 && counts[1] == 0)); then
    counts[1]=1
  fi
  record "$stage" "${counts[0]}" "${counts[1]}" "${counts[2]}" "$seconds" "pytest exit $rc"
}

# Runs one gate command that counts as a single check. Its output goes to a log; molecule's
# is long, so only its tail is shown on failure unless TEST_VERBOSE=1.
run_gate() {
  local stage="$1" label="$2" show="$3"
  shift 3
  local log="$RESULTS/$label.log" started=$SECONDS rc
  say "$stage: $label: $*"
  if [[ "$show" == stream || "${TEST_VERBOSE:-0}" == 1 ]]; then
    "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
  else
    "$@" >"$log" 2>&1
    rc=$?
    if ((rc != 0)); then
      say "$label failed; last lines of $log:"
      tail -n 120 "$log"
    fi
  fi
  local seconds=$((SECONDS - started))
  if ((rc == 0)); then
    say "$stage: $label passed ($seconds s)"
    record "$label" 1 0 0 "$seconds"
  else
    say "$stage: $label FAILED (exit $rc, $seconds s, log $log)"
    record "$label" 0 1 0 "$seconds" "exit $rc"
  fi
}

stage_lab() { LAB_SKIP_SETUP=1 run_gate lab lab-up stream bash "$ROOT/scripts/lab.sh" up; }

stage_unit() { run_pytest_stage unit tests/unit; }

# The integration tests mostly wait on the lab (containers, emulators, PostgreSQL), so the groups
# of tests that drive different lab instances run side by side even on two cores.
stage_integration() {
  local workers="${INTEGRATION_WORKERS:-4}"
  # local: run_pytest_stage sees it (bash scopes dynamically); later stages see the empty global.
  local STAGE_PYTEST_ARGS=()
  ((workers > 1)) && STAGE_PYTEST_ARGS=(-n "$workers" --dist loadgroup)
  run_pytest_stage integration tests/integration tests/emulators
}

stage_molecule() {
  local scenarios=() file name
  for file in "$ROOT"/extensions/molecule/*/molecule.yml; do
    [[ -e "$file" ]] || continue
    name="$(basename "$(dirname "$file")")"
    [[ -n "${MOLECULE_SCENARIOS:-}" && " $MOLECULE_SCENARIOS " != *" $name "* ]] && continue
    [[ " ${MOLECULE_SKIP:-} " == *" $name "* ]] && continue
    scenarios+=("$name")
  done
  if ((${#scenarios[@]} == 0)); then
    [[ -n "${MOLECULE_SCENARIOS:-}${MOLECULE_SKIP:-}" ]] && return 0  # the other lane runs them
    record_missing molecule "no extensions/molecule/*/molecule.yml"
    return 0
  fi
  for name in "${scenarios[@]}"; do
    run_gate molecule "molecule-$name" tail bash "$ROOT/scripts/molecule.sh" "$name"
  done
}

# ansible-lint, then the collection's docs as the Ansible docsite would render them (modules,
# plugins, roles' argument specs; references to this collection and the ones it depends on),
# then the changelog fragments. Each counts as one check.
stage_lint() {
  run_gate lint ansible-lint stream bash -c "cd '$ROOT' && ansible-lint"
  run_gate lint antsibull-docs-lint stream bash -c \
    "cd '$ROOT' && antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs dependent --disallow-unknown-collection-refs ."
  run_gate lint antsibull-changelog-lint stream bash -c "cd '$ROOT' && antsibull-changelog lint"
}

stage_sanity() { run_gate sanity ansible-test-sanity stream bash "$ROOT/scripts/sanity.sh"; }

main() {
  local stages=("$@") stage
  ((${#stages[@]} > 0)) || stages=("${ALL_STAGES[@]}")
  for stage in "${stages[@]}"; do
    if [[ " ${ALL_STAGES[*]} " != *" $stage "* ]]; then
      say "unknown stage '$stage' (stages: ${ALL_STAGES[*]})"
      exit 2
    fi
  done
  [[ -x "$VENV/bin/python" ]] || { say "no venv at $VENV: run make setup"; exit 2; }
  mkdir -p "$RESULTS"
  if [[ "${stages[*]}" == "${ALL_STAGES[*]}" && "${TEST_LANES:-2}" != 1 ]]; then
    run_in_two_lanes
    return
  fi
  for stage in "${stages[@]}"; do
    echo "== $stage"
    "stage_$stage"
  done
}

run_in_two_lanes() {
  local log="$RESULTS/free-lane.log" pid stage
  say "free lane (${FREE_LANE[*]}; molecule: $LAB_FREE_SCENARIOS) runs alongside, log $log"
  TEST_LANES=1 MOLECULE_SCENARIOS="$LAB_FREE_SCENARIOS" nice -n 10 \
    bash "$ROOT/scripts/test.sh" "${FREE_LANE[@]}" >"$log" 2>&1 &
  pid=$!
  for stage in "${LAB_LANE[@]}"; do
    echo "== $stage"
    MOLECULE_SKIP="$LAB_FREE_SCENARIOS" "stage_$stage"
  done
  wait "$pid"
  fold_in_free_lane "$log" $?
}

# Shows the free lane's output and adds its stage timings and counts to this run's.
fold_in_free_lane() {
  local log="$1" rc="$2" line in_timings=0 counts=()
  echo "== free lane (${FREE_LANE[*]})"
  cat "$log"
  while IFS= read -r line; do
    if [[ "$line" == "== stage timings" ]]; then
      in_timings=1
    elif [[ "$line" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)?$ ]]; then
      counts=("${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "${BASH_REMATCH[4]:-0}")  # its last line counts
    elif ((in_timings)) && [[ "$line" == "  "* ]]; then
      TIMINGS+=("${line#  }")
    fi
  done <"$log"
  if ((${#counts[@]} == 0)); then
    say "free lane: exit $rc without its closing line"
    record free-lane 0 1 0 0 "exit $rc"
    return
  fi
  PASSED=$((PASSED + counts[0]))
  FAILED=$((FAILED + counts[1]))
  SKIPPED=$((SKIPPED + counts[2]))
  if ((rc != 0 && counts[1] == 0)); then
    record free-lane 0 1 0 0 "exit $rc"
  fi
}

main "$@"
