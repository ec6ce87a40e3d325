#!/usr/bin/env bash
# after-script of the deploy steps: report a failure of any step, and success only when
# called with --final (the smoke test, the last step). Sends nothing without
# SLACK_WEBHOOK_URL. Uses the system python3: notify.py needs only the standard library.
source "$(dirname "$0")/lib.sh"

step_name="${1:?usage: notify.sh STEP_NAME [--final]}"
final="${2:-}"
exit_code="${BITBUCKET_EXIT_CODE:-1}"
stack="$(stack_for_branch)"

if [[ "${exit_code}" != "0" ]]; then
  python3 -m tools.notify --status failure --stack "${stack}" --step "${step_name}"
elif [[ "${final}" == "--final" ]]; then
  python3 -m tools.notify --status success --stack "${stack}" --step "${step_name}"
fi
