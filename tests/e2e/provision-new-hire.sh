#!/bin/sh
# "Provision the new hire": the command adnanh/webhook runs for each employee.hired that
# hookd delivered with a valid X-Hub-Signature-256 (see hooks.json.tmpl). A stand-in for
# creating the directory account: it appends one line per hire to $PROVISION_LOG,
#   provisioned lucia.garcia@acme.example (Lucía García, Engineering)
# and prints the same line (webhook returns it as the response body, so hookd records it
# on the delivery attempt).
#
# Usage: provision-new-hire.sh EMAIL FIRST_NAME LAST_NAME [DEPARTMENT]
# Env:   PROVISION_LOG  file to append to (required)
set -eu

: "${PROVISION_LOG:?PROVISION_LOG must name the file to append provisioned accounts to}"
email=${1:-}
first=${2:-}
last=${3:-}
department=${4:-}

if [ -z "$email" ] || [ -z "$first" ] || [ -z "$last" ]; then
  echo "provision-new-hire: email, first and last name are required" >&2
  exit 2
fi
case $email in
  *@*.*) ;;
  *) echo "provision-new-hire: not an email address: $email" >&2; exit 2 ;;
esac

line="provisioned $email ($first $last${department:+, $department})"
printf '%s\n' "$line" >> "$PROVISION_LOG"
printf '%s\n' "$line"
