"""Staff accounts: supervisors (and heads, for their own unit's handlers)
create, import, disable, re-enable and reset the accounts of the people in
their scope. Accounts are never deleted; every change is in the user's
history (django-simple-history)."""
