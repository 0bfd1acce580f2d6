# bash completion for nautilus(1). Plain bash: it needs none of the
# bash-completion package's helpers (_init_completion, _filedir), so it works
# in a bare shell too. Engine names come from the running daemon
# (`nautilus __complete engines`, short timeout, silent when there is none).
# Keep the option lists in step with _nautilus (zsh) and nautilus.fish; the
# test command checks all three against `nautilus ... --help`.

_nautilus_subcommands() {
  case "$1" in
    "") echo "status engine bus data events risk portfolio strategy analytics collateral cluster backtest bench token top" ;;
    engine) echo "list status start stop restart command" ;;
    bus) echo "publish subscribe" ;;
    data) echo "get sources stats history" ;;
    analytics) echo "report" ;;
    collateral) echo "show" ;;
    cluster) echo "status" ;;
    backtest) echo "run sweep replay" ;;
    risk) echo "check state halt resume" ;;
    portfolio) echo "show positions pnl optimize rebalance" ;;
    strategy) echo "list stop resume" ;;
    token) echo "create list revoke" ;;
    bench) echo "throughput latency flash-crash vpin-detector engines tick-to-fill store backtest hub ws scale" ;;
  esac
}

_nautilus_options() {
  case "$1" in
    "") echo "--url --token --config --json -q --quiet --no-color --help --version" ;;
    "bus publish") echo "--priority --type --source --count --rate --backend" ;;
    "bus subscribe") echo "--count --timeout --group --backend --raw" ;;
    "bench throughput") echo "--backend --publishers --subscribers --size --count --duration --queue --priority --mix --drain-timeout --peer" ;;
    "bench latency") echo "--backend --publishers --subscribers --size --count --duration --queue --priority --mix --drain-timeout --rate" ;;
    "bench flash-crash") echo "--backend --md-backend --engine-backend --duration --rate --symbols --crashes --seed --bar-ms --size --queue --mix --drain-timeout" ;;
    "bench vpin-detector") echo "--runs --calm-minutes --seed --vpin --stream-interval-ms --crash-plunge-pct --crash-duration --crash-volume-x" ;;
    "bench engines") echo "--bars --engine-bars --symbols --runs --seed" ;;
    "bench hub") echo "--clients --symbols --seconds --gets --keys --no-prefetch" ;;
    "bench tick-to-fill") echo "--symbols --duration --tick-rate --background --bar-ms" ;;
    "bench store") echo "--rows --batch --postgres --dir --rate --seconds" ;;
    "bench backtest") echo "--events --symbols --rate" ;;
    "bench ws") echo "--clients --rate --duration --fanout --size --ws-threads --daemon" ;;
    "bench scale") echo "--backend --consumers --runs --publishers --count --rate --size --work-us --wait-us --drain-timeout --redis-pid" ;;
    "data sources") echo "--probe" ;;
    "data history") echo "-t --type --from --to --limit --csv" ;;
    events) echo "--topic --since --from --to --limit" ;;
    "analytics report") echo "--period --engine" ;;
    "collateral show") echo "--engine" ;;
    "backtest run") echo "--data --from --to --no-progress --param --out --record" ;;
    "backtest replay") echo "--from --to --param --ignore-prices" ;;
    "backtest sweep") echo "--data --from --to --no-progress --param -j --jobs --sort" ;;
    "data get") echo "-t --type -s --source --fresh" ;;
    "risk check") echo "--symbol --side --quantity --price --id" ;;
    "risk halt") echo "--reason --engine" ;;
    "risk resume") echo "--engine" ;;
    "portfolio show"|"portfolio positions"|"portfolio pnl") echo "--engine" ;;
    "portfolio optimize") echo "--method --symbols --rf --target-volatility --lookback --bounds --engine" ;;
    "portfolio rebalance") echo "--weight --engine" ;;
    "strategy list"|"strategy resume") echo "--engine" ;;
    "strategy stop") echo "--reason --engine" ;;
    "token create") echo "--role --name --ttl --publish --subscribe --deny-publish --deny-subscribe" ;;
    top) echo "--interval --once --sort" ;;
  esac
}

# Options that take a value: the word after one is that value, not a command.
_nautilus_takes_value() {
  case "$1" in
    --url|--token|--config|--priority|--mix|--type|-t|--source|-s|--count|--rate|--backend|--timeout|--group) return 0 ;;
    --publishers|--subscribers|--size|--duration|--queue|--drain-timeout|--md-backend|--engine-backend) return 0 ;;
    --symbols|--seed|--bar-ms|--runs|--calm-minutes|--vpin|--stream-interval-ms|--crash-plunge-pct) return 0 ;;
    --crash-duration|--crash-volume-x|--bars|--engine-bars|--clients|--seconds|--gets|--keys) return 0 ;;
    --symbol|--side|--quantity|--price|--id|--reason|--engine|--interval|--sort) return 0 ;;
    --method|--rf|--target-volatility|--lookback|--bounds|--weight) return 0 ;;
    --tick-rate|--background|--rows|--batch|--postgres|--dir|--events|--from|--to|--limit) return 0 ;;
    --topic|--since|--period|--data|--param|--out|-j|--jobs|--record) return 0 ;;
    --role|--name|--ttl|--publish|--subscribe|--deny-publish|--deny-subscribe) return 0 ;;
    --consumers|--work-us|--wait-us|--redis-pid) return 0 ;;
  esac
  return 1
}

_nautilus_engines() {
  "${COMP_WORDS[0]}" __complete engines 2>/dev/null
}

# Words of $1 (spaces or newlines between them) that start with $2.
_nautilus_reply() {
  local IFS=$' \t\n'
  COMPREPLY=($(compgen -W "$1" -- "$2"))
}

_nautilus() {
  local cur="${COMP_WORDS[COMP_CWORD]}" prev=""
  ((COMP_CWORD > 0)) && prev="${COMP_WORDS[COMP_CWORD - 1]}"
  local -a args=()
  local i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="${COMP_WORDS[i]}"
    if [[ $w == -* ]]; then
      _nautilus_takes_value "$w" && ((i++))
      continue
    fi
    args+=("$w")
  done
  local cmd="${args[0]}" sub="${args[1]}"
  local path="$cmd"
  [[ -n $sub && -n $(_nautilus_subcommands "$cmd") ]] && path="$cmd $sub"

  case "$prev" in
    --config|--data|--record) local IFS=$'\n'; COMPREPLY=($(compgen -f -- "$cur")); return ;;
    --dir|--out) local IFS=$'\n'; COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --period) _nautilus_reply "interval daily" "$cur"; return ;;
    --priority) _nautilus_reply "flash_crash urgent critical high normal low" "$cur"; return ;;
    --mix) _nautilus_reply "normal normal=99,urgent=1 low=40,normal=138,high=20,urgent=1,flash_crash=1" "$cur"; return ;;
    --type|-t)
      if [[ $cmd == data ]]; then _nautilus_reply "tick quote trade bar level2 news fundamental economic" "$cur"
      else _nautilus_reply "market_data tick quote trade bar level2 fundamental economic news risk_alert risk_metric trading_signal order fill position_update portfolio_update ml_prediction regime_change vpin_toxicity flash_crash_warning feature_update factor_update margin_status performance_metric engine_status system_health" "$cur"; fi
      return ;;
    --side) _nautilus_reply "buy sell" "$cur"; return ;;
    --role) _nautilus_reply "viewer operator admin" "$cur"; return ;;
    --ttl) _nautilus_reply "15m 1h 12h 7d" "$cur"; return ;;
    --sort)
      if [[ $path == "backtest sweep" ]]; then _nautilus_reply "pnl return sharpe sortino max_drawdown win_rate profit_factor fills" "$cur"
      else _nautilus_reply "rate p50 p90 p99 p999 max queue drops errors name" "$cur"; fi
      return ;;
    --backend)
      if [[ $path == "bench flash-crash" ]]; then _nautilus_reply "inproc daemon redis://" "$cur"
      else _nautilus_reply "inproc:// redis://" "$cur"; fi
      return ;;
    --engine) _nautilus_reply "$(_nautilus_engines)" "$cur"; return ;;
  esac
  _nautilus_takes_value "$prev" && return

  if [[ $cur == -* ]]; then
    if [[ -z $cmd ]]; then _nautilus_reply "$(_nautilus_options "")" "$cur"
    else _nautilus_reply "$(_nautilus_options "$path") --json --help" "$cur"; fi
    return
  fi
  # Positionals: a subcommand, then the command's own arguments.
  if [[ -z $cmd ]]; then _nautilus_reply "$(_nautilus_subcommands "")" "$cur"; return; fi
  local subs
  subs="$(_nautilus_subcommands "$cmd")"
  if [[ -n $subs && -z $sub ]]; then _nautilus_reply "$subs" "$cur"; return; fi
  local position=$((${#args[@]} - 2))  # arguments after the subcommand so far
  case "$path" in
    "engine status"|"engine start"|"engine stop"|"engine restart"|"engine command")
      ((position == 0)) && _nautilus_reply "$(_nautilus_engines)" "$cur"
      [[ $path == "engine command" ]] && ((position == 1)) && _nautilus_reply "state status halt resume check" "$cur" ;;
    "bus publish"|"bus subscribe") ((position == 0)) && _nautilus_reply "marketdata engine" "$cur" ;;
    "bench hub") ((position == 0)) && _nautilus_reply "consolidation latency all" "$cur" ;;
    "backtest replay") ((position == 0)) && { local IFS=$'\n'; COMPREPLY=($(compgen -f -- "$cur")); } ;;
  esac
}
complete -F _nautilus nautilus
