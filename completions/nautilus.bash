# bash completion for nautilus(1)
_nautilus() {
  local cur prev words cword
  _init_completion || return
  local globals="--url --token --config --json -q --quiet --no-color --help --version"
  local cmd="" sub="" i
  for ((i = 1; i < cword; i++)); do
    case "${words[i]}" in
      --url|--token|--config) ((i++)) ;;
      -*) ;;
      *) if [[ -z $cmd ]]; then cmd=${words[i]}; elif [[ -z $sub ]]; then sub=${words[i]}; fi ;;
    esac
  done
  case "$prev" in
    --config) _filedir toml; return ;;
    --priority) COMPREPLY=($(compgen -W "flash_crash urgent critical high normal low" -- "$cur")); return ;;
    --type) COMPREPLY=($(compgen -W "market_data tick quote trade bar level2 fundamental economic news risk_alert risk_metric trading_signal order fill position_update portfolio_update ml_prediction regime_change vpin_toxicity flash_crash_warning feature_update factor_update margin_status performance_metric engine_status system_health" -- "$cur")); return ;;
    --url|--token|--count|--rate|--timeout|--group|--backend|--duration|--symbol|--quantity|--price|--id) return ;;
    --md-backend|--engine-backend|--symbols|--seed|--bar-ms|--size|--queue|--mix|--drain-timeout) return ;;
    --side) COMPREPLY=($(compgen -W "buy sell" -- "$cur")); return ;;
    --sort) COMPREPLY=($(compgen -W "rate p50 p90 p99 p999 max queue drops errors name" -- "$cur")); return ;;
    --interval) return ;;
  esac
  case "$cmd" in
    "") COMPREPLY=($(compgen -W "status engine bus data risk bench top $globals" -- "$cur")) ;;
    top) COMPREPLY=($(compgen -W "--interval --once --sort --json --help" -- "$cur")) ;;
    engine)
      if [[ -z $sub ]]; then COMPREPLY=($(compgen -W "list status start stop restart" -- "$cur"))
      else COMPREPLY=($(compgen -W "--json --help" -- "$cur")); fi ;;
    bus)
      case "$sub" in
        "") COMPREPLY=($(compgen -W "publish subscribe" -- "$cur")) ;;
        publish) COMPREPLY=($(compgen -W "marketdata engine --priority --type --source --count --rate --backend --help" -- "$cur")) ;;
        subscribe) COMPREPLY=($(compgen -W "marketdata engine --count --timeout --group --backend --json --help" -- "$cur")) ;;
      esac ;;
    bench) if [[ -z $sub ]]; then COMPREPLY=($(compgen -W "throughput latency hub flash-crash" -- "$cur"))
           elif [[ $sub == flash-crash ]]; then COMPREPLY=($(compgen -W "--backend --md-backend --engine-backend --duration --rate --symbols --seed --bar-ms --size --queue --mix --drain-timeout --json --help" -- "$cur")); fi ;;
    data) if [[ -z $sub ]]; then COMPREPLY=($(compgen -W "get sources stats" -- "$cur"))
          elif [[ $sub == get ]]; then COMPREPLY=($(compgen -W "--type --source --fresh --help" -- "$cur")); fi ;;
    risk) if [[ -z $sub ]]; then COMPREPLY=($(compgen -W "check state" -- "$cur"))
          elif [[ $sub == check ]]; then COMPREPLY=($(compgen -W "--symbol --side --quantity --price --id --help" -- "$cur")); fi ;;
    *) COMPREPLY=($(compgen -W "--json --help" -- "$cur")) ;;
  esac
}
complete -F _nautilus nautilus
