#!/bin/sh
# The IT side of a hire and a leave: what adnanh/webhook runs for each delivery whose
# X-Hub-Signature-256 it verified (hooks.json.tmpl). A stand-in for the directory (LDAP,
# Google Workspace, Entra ID): one file per employee in $ACCOUNTS_DIR,
#   accounts/emp_4821:  email=lucia.fernandez@acme.example
#                       name=Lucía Fernández
#                       groups=all-staff,engineering
# created on employee.hired, removed on employee.left. Both are idempotent: hookd delivers at
# least once, and a repeated delivery changes nothing.
#
# Usage: account.sh TYPE EMPLOYEE_ID EMAIL FIRST_NAME LAST_NAME [DEPARTMENT]
set -eu
: "${ACCOUNTS_DIR:?ACCOUNTS_DIR must name the directory of accounts}"
type=${1:-} id=${2:-} email=${3:-} first=${4:-} last=${5:-} department=${6:-}

# The id becomes a file name: nothing but letters, digits and '_' (no '/', no '..').
case $id in
  emp_*) ;;
  *) echo "account: not an employee id: $id" >&2; exit 2 ;;
esac
case $id in
  *[!A-Za-z0-9_]*) echo "account: not an employee id: $id" >&2; exit 2 ;;
esac

case $type in
  employee.hired)
    group=$(printf '%s' "$department" | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9-')
    printf 'email=%s\nname=%s %s\ngroups=all-staff%s\n' "$email" "$first" "$last" "${group:+,$group}" \
      > "$ACCOUNTS_DIR/.$id.tmp"
    mv "$ACCOUNTS_DIR/.$id.tmp" "$ACCOUNTS_DIR/$id"
    echo "account created: $email (all-staff${group:+, $group})"
    ;;
  employee.left)
    rm -f "$ACCOUNTS_DIR/$id"
    echo "account removed: $email"
    ;;
  *)
    echo "account: nothing to do for $type"
    ;;
esac
