#!/usr/bin/env bash
# Fail when a tracked file contains a secret that .secrets.baseline does not list.
# Runs detect-secrets over `git ls-files` of the current directory's repository.
source "$(dirname "$0")/lib.sh"

log "detect-secrets over the tracked files"
files=()
while IFS= read -r -d '' file; do
  files+=("${file}")
done < <(git ls-files -z)
if [[ "${#files[@]}" -eq 0 ]]; then
  die "git ls-files listed no files; run this inside the repository"
fi
"${CI_VENV_BIN}/detect-secrets-hook" --baseline .secrets.baseline "${files[@]}"
log "no new secrets found"
