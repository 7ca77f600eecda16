# failure_digest LABEL LOG: what a failing suite printed about its failures — mocha's report from
# "N failing" on (at most 150 lines), or the log's last 40 lines when it died before reporting.
failure_digest() {
  local label=$1 log=$2
  printf -- '--- %s\n' "$label"
  if grep -Eq '^ *[0-9]+ failing' "$log"; then
    sed -nE '/^ *[0-9]+ failing/,$p' "$log" | head -150
  else
    tail -40 "$log"
  fi
}
