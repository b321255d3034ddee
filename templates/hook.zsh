# dsqlenv hook for zsh, from: eval "$(dsqlenv hook zsh)"
# Before each prompt, when DSQLENV_PROFILE is set and its token (DSQLENV_EXPIRES_AT, Unix
# seconds) ends within DSQLENV_REFRESH_MARGIN seconds (default 60), run dsqlenv again for that
# profile, from the file the block came from (DSQLENV_PROFILES_FILE). A prompt
# whose token is still fresh starts no process: the clock is $EPOCHSECONDS from the
# zsh/datetime module. After a failure dsqlenv has printed one line; the hook then waits 30 s,
# doubling up to 15 min, before it tries again. $? is kept for the prompt.
zmodload -F zsh/datetime p:EPOCHSECONDS 2>/dev/null
_dsqlenv_hook() {
  local -i ret=$?
  local now margin=60 expires=0 block
  [[ ${DSQLENV_PROFILE:-} =~ '^[A-Za-z0-9][A-Za-z0-9._-]*$' ]] || return $ret
  # Only digits reach arithmetic: zsh evaluates a name like a[$(cmd)] found there, and an
  # EPOCHSECONDS inherited while zsh/datetime is missing is just a string.
  now=${EPOCHSECONDS:-}
  [[ $now =~ '^[0-9]{1,18}$' ]] || now=$(date +%s)
  [[ ${DSQLENV_REFRESH_MARGIN:-} =~ '^[0-9]{1,9}$' ]] && margin=$DSQLENV_REFRESH_MARGIN
  [[ ${DSQLENV_EXPIRES_AT:-} =~ '^[0-9]{1,18}$' ]] && expires=$DSQLENV_EXPIRES_AT
  if (( now + margin < expires || now < _dsqlenv_retry_at )); then
    return $ret
  fi
  if block=$({{.Bin}} zsh --config "${DSQLENV_PROFILES_FILE:-}" -- "$DSQLENV_PROFILE") && eval "$block"; then
    _dsqlenv_backoff=0
  else
    _dsqlenv_backoff=$(( _dsqlenv_backoff < 30 ? 30 : (_dsqlenv_backoff * 2 > 900 ? 900 : _dsqlenv_backoff * 2) ))
    _dsqlenv_retry_at=$(( now + _dsqlenv_backoff ))
  fi
  return $ret
}
typeset -gi _dsqlenv_retry_at=0 _dsqlenv_backoff=0
autoload -Uz add-zsh-hook
add-zsh-hook precmd _dsqlenv_hook
