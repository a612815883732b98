#!/usr/bin/env bash
# Runs the stages of `make test` one after another, stops at the first that fails, and prints how
# long each took at the end either way (a slow suite costs every later session: watch it).
set -uo pipefail
names=() secs=() result=0
for stage in "$@"; do
  start=$(date +%s)
  ${MAKE:-make} --no-print-directory "$stage"
  code=$?
  names+=("$stage") secs+=($(( $(date +%s) - start )))
  if [ $code -ne 0 ]; then result=$code; break; fi
done
total=0
echo "stage times (load average $(cut -d' ' -f1-3 /proc/loadavg)):"
for i in "${!names[@]}"; do
  printf '  %-10s %4d:%02d\n' "${names[$i]}" $(( secs[i] / 60 )) $(( secs[i] % 60 ))
  total=$(( total + secs[i] ))
done
printf '  %-10s %4d:%02d%s\n' total $(( total / 60 )) $(( total % 60 )) "$([ $result -ne 0 ] && echo "  (stopped: ${names[-1]} failed)")"
exit $result
