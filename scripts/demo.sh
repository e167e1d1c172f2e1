#!/usr/bin/env bash
# The restore drill (`make demo`, lab already up): seed data, back up, lose data, restore with
#   ansible-playbook playbooks/restore.yml -l coffee-tracker
# then check health and print what came back. Exits non-zero if anything did not come back.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
LAB_DIR="${APPOPS_LAB_DIR:-$ROOT/.lab}"
PROJECT="$LAB_DIR/coffee-tracker"
SEED_ROWS="${DEMO_SEED_ROWS:-5000}"
LOG_DIR="${DEMO_LOG_DIR:-$ROOT/build/demo}"
export PATH="$VENV/bin:$PATH" ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$ROOT/.collections}"
mkdir -p "$LOG_DIR"
cd "$ROOT"

say() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: FAILED: %s\n' "$*" >&2; exit 1; }
psql_value() {
  docker compose --project-directory "$PROJECT" exec -T postgres \
    psql -U coffee -p 15432 -d coffee_db -Atc "$1" 2>/dev/null || echo "missing"
}
logs_count() { psql_value "SELECT count(*) FROM coffee_logs"; }
# What a run published (the global stat appops, README.md "Results"): the json stdout callback
# writes it as global_custom_stats; outcome <json file> <key> prints appops.coffee-tracker.<key>.
outcome() {
  python3 - "$1" "$2" <<'PY'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
document, _ = json.JSONDecoder().raw_decode(text[text.index('{\n    "custom_stats"'):])
value = document["global_custom_stats"]["appops"]["coffee-tracker"].get(sys.argv[2])
print(",".join(value) if isinstance(value, list) else "" if value is None else value)
PY
}
run_json() { ANSIBLE_STDOUT_CALLBACK=ansible.posix.json ansible-playbook "$@"; }
audit_count() {
  python3 -c 'import sqlite3,sys; print(sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True).execute("SELECT count(*) FROM audit_events").fetchone()[0])' \
    "$PROJECT/data/coffee.db"
}

curl -sf --max-time 5 http://127.0.0.1:18000/health >/dev/null || die "the lab is not up (run: make lab)"

say "seeding $SEED_ROWS rows"
"$ROOT/lab/coffee-tracker/seed.sh" "$SEED_ROWS" >/dev/null
say "backup"
run_json playbooks/backup.yml -l coffee-tracker >"$LOG_DIR/backup.json" 2>"$LOG_DIR/backup.log" \
  || die "backup failed, see $LOG_DIR/backup.json"
backup_id="$(outcome "$LOG_DIR/backup.json" backup_id)" || die "no outcome in $LOG_DIR/backup.json"
[ -n "$backup_id" ] || die "no backup id in $LOG_DIR/backup.json"
echo "backup $backup_id"
logs_before="$(logs_count)"
audit_before="$(audit_count)"
echo "coffee_logs=$logs_before audit_events=$audit_before"

say "simulating data loss: TRUNCATE coffee_logs, DELETE the SQLite audit rows"
psql_value "TRUNCATE coffee_logs" >/dev/null
python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("DELETE FROM audit_events"); c.commit()' "$PROJECT/data/coffee.db"
logs_lost="$(logs_count)"
audit_lost="$(audit_count)"
echo "coffee_logs=$logs_lost audit_events=$audit_lost"

say "ansible-playbook playbooks/restore.yml -l coffee-tracker"
# The playbook's status is taken before its outcome is read.
run_json playbooks/restore.yml -l coffee-tracker >"$LOG_DIR/restore.json" 2>"$LOG_DIR/restore.log" && restore_rc=0 || restore_rc=$?
restored_id="$(outcome "$LOG_DIR/restore.json" backup_id || true)"
stores="$(outcome "$LOG_DIR/restore.json" stores || true)"
rto="$(outcome "$LOG_DIR/restore.json" rto_seconds || true)"
rpo="$(outcome "$LOG_DIR/restore.json" rpo_seconds || true)"
echo "restored ${restored_id:-nothing} stores=${stores:-?} rto_seconds=${rto:-?} rpo_seconds=${rpo:-?}"
[ "$restore_rc" -eq 0 ] || die "restore failed (exit $restore_rc): $(outcome "$LOG_DIR/restore.json" message || true) (see $LOG_DIR/restore.json)"

say "health"
run_json playbooks/health.yml -l coffee-tracker >"$LOG_DIR/health.json" 2>"$LOG_DIR/health.log" && health_rc=0 || health_rc=$?
health_status="$(outcome "$LOG_DIR/health.json" health || true)"
health="$(curl -s --max-time 5 http://127.0.0.1:18000/health || echo '{}')"
echo "$health"
logs_after="$(logs_count)"
audit_after="$(audit_count)"

status=0
check() { if [ "$2" = "$3" ]; then echo "ok"; else echo "MISMATCH"; fi; }
cat <<SUMMARY

================ restore drill: coffee-tracker ================
 backup restored : ${restored_id:-?} (stores: ${stores:-?})
 coffee_logs     : before loss $logs_before -> after loss $logs_lost -> restored $logs_after   [$(check logs "$logs_before" "$logs_after")]
 audit_events    : before loss $audit_before -> after loss $audit_lost -> restored $audit_after   [$(check audit "$audit_before" "$audit_after")]
 RTO             : ${rto:-?} s (start of the restore run -> maintenance off and healthy)
 RPO             : ${rpo:-?} s (age of the backup when restored)
 health          : $( [ "$health_rc" -eq 0 ] && [ "$health_status" = healthy ] && echo healthy || echo "NOT healthy (${health_status:-no answer}, see $LOG_DIR/health.json)" )
===============================================================
SUMMARY
[ "$restored_id" = "$backup_id" ] || { echo "restored ${restored_id:-nothing}, expected $backup_id"; status=1; }
[ "$logs_after" = "$logs_before" ] || status=1
[ "$audit_after" = "$audit_before" ] || status=1
[ "$health_rc" -eq 0 ] && [ "$health_status" = healthy ] || status=1
exit "$status"
