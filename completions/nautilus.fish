# fish completion for nautilus(1): the same commands and options as
# nautilus.bash (the test command checks all three files against
# `nautilus ... --help`). Engine names come from the running daemon
# (`nautilus __complete engines`, short timeout, silent without one).

# Options whose next word is their value, not a command.
set -g __nautilus_value_opts --url --token --config --priority --mix --type -t --source -s --count --rate --backend \
    --timeout --group --publishers --subscribers --size --duration --queue --drain-timeout --md-backend \
    --engine-backend --symbols --seed --bar-ms --runs --calm-minutes --vpin --stream-interval-ms --crash-plunge-pct \
    --crash-duration --crash-volume-x --bars --engine-bars --clients --seconds --gets --keys --symbol --side \
    --quantity --price --id --reason --engine --interval --sort --tick-rate --background --rows --batch --postgres \
    --dir --events --from --to --limit --topic --since --period --data --param --out -j --jobs --record \
    --role --name --ttl --publish --subscribe --deny-publish --deny-subscribe --consumers --work-us --wait-us --redis-pid

# The command words typed so far (options and their values left out).
function __nautilus_words
    set -l words (commandline -opc)
    set -e words[1]
    set -l skip 0
    for w in $words
        if test $skip = 1
            set skip 0
            continue
        end
        if string match -q -- '-*' $w
            contains -- $w $__nautilus_value_opts; and set skip 1
            continue
        end
        echo $w
    end
end

# True when the command path is exactly "$argv" (e.g. "bus publish"), or
# just "" for no command yet.
function __nautilus_is
    set -l words (__nautilus_words)
    set -l want (string split ' ' -- "$argv")
    test "$argv" = ""; and begin; test (count $words) -eq 0; return; end
    test (count $words) -ge (count $want); or return 1
    for i in (seq (count $want))
        test "$words[$i]" = "$want[$i]"; or return 1
    end
    return 0
end

# True when the path is "$argv[1]" and exactly $argv[2] arguments follow it.
function __nautilus_arg_at
    __nautilus_is $argv[1]; or return 1
    set -l words (__nautilus_words)
    set -l depth (count (string split ' ' -- $argv[1]))
    test (math (count $words) - $depth) -eq $argv[2]
end

function __nautilus_engines
    set -l bin (commandline -opc)[1]
    $bin __complete engines 2>/dev/null
end

complete -c nautilus -f

# Global options.
complete -c nautilus -l url -x -d 'Control API URL (http://host:port or unix:/path)'
complete -c nautilus -l token -x -d 'Bearer token'
complete -c nautilus -l config -r -F -d 'Config file'
complete -c nautilus -l json -d 'Machine-readable output; errors as JSON'
complete -c nautilus -s q -l quiet -d 'No diagnostics (data and errors still printed)'
complete -c nautilus -l no-color -d 'No colours'
complete -c nautilus -l version -d 'Print the version'

# Commands and subcommands.
complete -c nautilus -n '__nautilus_is ""' -a status -d 'Daemon, engines and buses'
complete -c nautilus -n '__nautilus_is ""' -a engine -d 'List, inspect, start, stop, command engines'
complete -c nautilus -n '__nautilus_is ""' -a bus -d 'Publish and subscribe'
complete -c nautilus -n '__nautilus_is ""' -a data -d 'Market data through the hub'
complete -c nautilus -n '__nautilus_is ""' -a risk -d 'Pre-trade checks, risk state, halt, resume'
complete -c nautilus -n '__nautilus_is ""' -a portfolio -d 'Paper portfolio: positions, P&L, optimise, rebalance'
complete -c nautilus -n '__nautilus_is ""' -a strategy -d 'Strategy instances: list, stop, resume'
complete -c nautilus -n '__nautilus_is ""' -a events -d 'Recorded bus events from the history store'
complete -c nautilus -n '__nautilus_is ""' -a analytics -d 'Performance figures and attribution'
complete -c nautilus -n '__nautilus_is ""' -a collateral -d 'Margin account: requirements, utilisation, call prices'
complete -c nautilus -n '__nautilus_is ""' -a cluster -d "The daemons sharing this daemon's Redis"
complete -c nautilus -n '__nautilus_is ""' -a backtest -d 'Replay market data through the engines'
complete -c nautilus -n '__nautilus_is ""' -a bench -d 'Benchmarks'
complete -c nautilus -n '__nautilus_is ""' -a token -d 'Signed control tokens: create, list, revoke'
complete -c nautilus -n '__nautilus_is ""' -a top -d 'Live latency table'
complete -c nautilus -n '__nautilus_arg_at engine 0' -a 'list status start stop restart command'
complete -c nautilus -n '__nautilus_arg_at bus 0' -a 'publish subscribe'
complete -c nautilus -n '__nautilus_arg_at data 0' -a 'get sources stats history'
complete -c nautilus -n '__nautilus_arg_at analytics 0' -a 'report'
complete -c nautilus -n '__nautilus_arg_at collateral 0' -a 'show'
complete -c nautilus -n '__nautilus_arg_at cluster 0' -a 'status'
complete -c nautilus -n '__nautilus_arg_at backtest 0' -a 'run sweep replay'
complete -c nautilus -n '__nautilus_arg_at risk 0' -a 'check state halt resume'
complete -c nautilus -n '__nautilus_arg_at portfolio 0' -a 'show positions pnl optimize rebalance'
complete -c nautilus -n '__nautilus_arg_at strategy 0' -a 'list stop resume'
complete -c nautilus -n '__nautilus_arg_at token 0' -a 'create list revoke'
complete -c nautilus -n '__nautilus_arg_at bench 0' -a 'throughput latency flash-crash vpin-detector engines tick-to-fill store backtest hub ws scale'

# Positional arguments.
for c in status start stop restart command
    complete -c nautilus -n "__nautilus_arg_at 'engine $c' 0" -a '(__nautilus_engines)' -d 'Engine'
end
complete -c nautilus -n "__nautilus_arg_at 'engine command' 1" -a 'state status halt resume check' -d 'Command'
complete -c nautilus -n "__nautilus_arg_at 'bus publish' 0" -a 'marketdata engine'
complete -c nautilus -n "__nautilus_arg_at 'bus subscribe' 0" -a 'marketdata engine'
complete -c nautilus -n "__nautilus_arg_at 'bench hub' 0" -a 'consolidation latency all'

# bus publish / subscribe
complete -c nautilus -n '__nautilus_is bus publish' -l priority -x -a 'flash_crash urgent critical high normal low' -d 'Priority (any case)'
complete -c nautilus -n '__nautilus_is bus publish' -l type -x -a 'market_data tick quote trade bar level2 fundamental economic news risk_alert risk_metric trading_signal order fill position_update portfolio_update ml_prediction regime_change vpin_toxicity flash_crash_warning feature_update factor_update margin_status performance_metric engine_status system_health' -d 'Message type'
complete -c nautilus -n '__nautilus_is bus publish' -l source -x -d 'Source in the envelope'
complete -c nautilus -n '__nautilus_is bus publish' -l count -x -d 'Publish each payload N times'
complete -c nautilus -n '__nautilus_is bus publish' -l rate -x -d 'Messages per second'
complete -c nautilus -n '__nautilus_is bus publish' -l backend -x -a 'inproc:// redis://' -d 'Bus URL (no daemon)'
complete -c nautilus -n '__nautilus_is bus subscribe' -l count -x -d 'Stop after N messages'
complete -c nautilus -n '__nautilus_is bus subscribe' -l timeout -x -d 'Stop after S seconds'
complete -c nautilus -n '__nautilus_is bus subscribe' -l group -x -d 'Consumer group'
complete -c nautilus -n '__nautilus_is bus subscribe' -l backend -x -a 'inproc:// redis://' -d 'Bus URL (no daemon)'
complete -c nautilus -n '__nautilus_is bus subscribe' -l raw -d 'Payloads only'

# bench throughput / latency
for c in throughput latency
    complete -c nautilus -n "__nautilus_is bench $c" -l backend -x -a 'inproc:// redis://' -d 'Bus backend'
    complete -c nautilus -n "__nautilus_is bench $c" -l publishers -x -d 'Publisher threads'
    complete -c nautilus -n "__nautilus_is bench $c" -l subscribers -x -d 'Subscribers'
    complete -c nautilus -n "__nautilus_is bench $c" -l size -x -d 'Payload bytes'
    complete -c nautilus -n "__nautilus_is bench $c" -l count -x -d 'Total messages'
    complete -c nautilus -n "__nautilus_is bench $c" -l duration -x -d 'Seconds to publish for'
    complete -c nautilus -n "__nautilus_is bench $c" -l queue -x -d 'Per-lane queue capacity'
    complete -c nautilus -n "__nautilus_is bench $c" -l priority -x -a 'flash_crash urgent critical high normal low' -d 'Priority or mix'
    complete -c nautilus -n "__nautilus_is bench $c" -l mix -x -d 'Weighted priority mix, e.g. normal=99,urgent=1'
    complete -c nautilus -n "__nautilus_is bench $c" -l drain-timeout -x -d 'Seconds to wait for deliveries'
end
complete -c nautilus -n '__nautilus_is bench latency' -l rate -x -d 'Messages per second'
complete -c nautilus -n '__nautilus_is bench throughput' -l peer -d 'Also measure the handoff ceiling in the same run'

# bench flash-crash
complete -c nautilus -n '__nautilus_is bench flash-crash' -l backend -x -a 'inproc daemon redis://' -d 'Both buses: inproc, redis://host:port or a running daemon'
complete -c nautilus -n '__nautilus_is bench flash-crash' -l md-backend -x -d 'Marketdata bus URL'
complete -c nautilus -n '__nautilus_is bench flash-crash' -l engine-backend -x -d 'Engine bus URL'
complete -c nautilus -n '__nautilus_is bench flash-crash' -l duration -x -d 'Seconds of flood and feed'
complete -c nautilus -n '__nautilus_is bench flash-crash' -l rate -x -d 'Background msgs/s, both buses'
complete -c nautilus -n '__nautilus_is bench flash-crash' -l symbols -x -d 'Crash symbols'
complete -c nautilus -n '__nautilus_is bench flash-crash' -l crashes -x -d 'Crashes per symbol (0: as many as fit)'
complete -c nautilus -n '__nautilus_is bench flash-crash' -l seed -x -d 'Synthetic feed seed'
complete -c nautilus -n '__nautilus_is bench flash-crash' -l bar-ms -x -d 'Wall ms per VPIN bar'
complete -c nautilus -n '__nautilus_is bench flash-crash' -l size -x -d 'Background payload bytes'
complete -c nautilus -n '__nautilus_is bench flash-crash' -l queue -x -d 'Lane capacity of the bench subscribers'
complete -c nautilus -n '__nautilus_is bench flash-crash' -l mix -x -d 'Background priority mix'
complete -c nautilus -n '__nautilus_is bench flash-crash' -l drain-timeout -x -d 'Seconds to wait after the flood'

# bench vpin-detector
complete -c nautilus -n '__nautilus_is bench vpin-detector' -l runs -x -d 'Seeded runs'
complete -c nautilus -n '__nautilus_is bench vpin-detector' -l calm-minutes -x -d 'Minutes of calm market per run'
complete -c nautilus -n '__nautilus_is bench vpin-detector' -l seed -x -d 'Feed seed of the first run'
complete -c nautilus -n '__nautilus_is bench vpin-detector' -l vpin -x -d '[engines.vpin] section as JSON'
complete -c nautilus -n '__nautilus_is bench vpin-detector' -l stream-interval-ms -x -d 'Delivery batches of the feed'
complete -c nautilus -n '__nautilus_is bench vpin-detector' -l crash-plunge-pct -x -d 'Crash depth in percent'
complete -c nautilus -n '__nautilus_is bench vpin-detector' -l crash-duration -x -d 'Crash length in seconds'
complete -c nautilus -n '__nautilus_is bench vpin-detector' -l crash-volume-x -x -d 'Trade count multiplier during the crash'

# bench engines
complete -c nautilus -n '__nautilus_is bench engines' -l bars -x -d 'Calculator updates per run'
complete -c nautilus -n '__nautilus_is bench engines' -l engine-bars -x -d 'Bars through each engine per run'
complete -c nautilus -n '__nautilus_is bench engines' -l symbols -x -d 'Symbols the inputs rotate over'
complete -c nautilus -n '__nautilus_is bench engines' -l runs -x -d 'Runs of each case'
complete -c nautilus -n '__nautilus_is bench engines' -l seed -x -d 'Seed of the generated inputs'

# bench hub
complete -c nautilus -n '__nautilus_is bench hub' -l clients -x -d 'Engine clients'
complete -c nautilus -n '__nautilus_is bench hub' -l symbols -x -d 'Symbols each client asks for'
complete -c nautilus -n '__nautilus_is bench hub' -l seconds -x -d 'Simulated seconds'
complete -c nautilus -n '__nautilus_is bench hub' -l gets -x -d 'Cached gets to time'
complete -c nautilus -n '__nautilus_is bench hub' -l keys -x -d 'Distinct cached keys'
complete -c nautilus -n '__nautilus_is bench hub' -l no-prefetch -d 'Turn the prefetch model off'

# data get
complete -c nautilus -n '__nautilus_is data get' -s t -l type -x -a 'tick quote trade bar level2 news fundamental economic' -d 'Data type'
complete -c nautilus -n '__nautilus_is data get' -s s -l source -x -d 'Only this source'
complete -c nautilus -n '__nautilus_is data get' -l fresh -d 'Bypass the cache'

# risk
complete -c nautilus -n '__nautilus_is risk check' -l symbol -x -d 'Symbol'
complete -c nautilus -n '__nautilus_is risk check' -l side -x -a 'buy sell'
complete -c nautilus -n '__nautilus_is risk check' -l quantity -x -d 'Quantity'
complete -c nautilus -n '__nautilus_is risk check' -l price -x -d 'Limit price'
complete -c nautilus -n '__nautilus_is risk check' -l id -x -d 'Order id'
complete -c nautilus -n '__nautilus_is risk halt' -l reason -x -d 'Why (logged, shown by risk state)'
complete -c nautilus -n '__nautilus_is risk halt' -l engine -x -a '(__nautilus_engines)' -d 'Risk engine instance'
complete -c nautilus -n '__nautilus_is risk resume' -l engine -x -a '(__nautilus_engines)' -d 'Risk engine instance'
# portfolio
for c in show positions pnl optimize rebalance
  complete -c nautilus -n "__nautilus_is portfolio $c" -l engine -x -a '(__nautilus_engines)' -d 'Portfolio engine instance'
end
complete -c nautilus -n '__nautilus_is portfolio optimize' -l method -x -a 'min_variance max_sharpe efficient_risk risk_parity' -d 'Optimiser'
complete -c nautilus -n '__nautilus_is portfolio optimize' -l symbols -x -d 'Symbols'
complete -c nautilus -n '__nautilus_is portfolio optimize' -l rf -x -d 'Risk-free rate'
complete -c nautilus -n '__nautilus_is portfolio optimize' -l target-volatility -x -d 'Target sigma (efficient_risk)'
complete -c nautilus -n '__nautilus_is portfolio optimize' -l lookback -x -d 'Returns in the window'
complete -c nautilus -n '__nautilus_is portfolio optimize' -l bounds -x -d 'LO HI weight bounds'
complete -c nautilus -n '__nautilus_is portfolio rebalance' -l weight -x -d 'SYMBOL=WEIGHT'
# strategy
for c in list stop resume
  complete -c nautilus -n "__nautilus_is strategy $c" -l engine -x -a '(__nautilus_engines)' -d 'Strategy engine instance'
end
complete -c nautilus -n '__nautilus_is strategy stop' -l reason -x -d 'Why (logged, shown by strategy list)'

# token
complete -c nautilus -n '__nautilus_is token create' -l role -x -a 'viewer operator admin' -d 'What it may do'
complete -c nautilus -n '__nautilus_is token create' -l name -x -d 'Who it is for'
complete -c nautilus -n '__nautilus_is token create' -l ttl -x -a '15m 1h 12h 7d' -d 'Lifetime'
complete -c nautilus -n '__nautilus_is token create' -l publish -x -d 'Topic pattern it may publish to'
complete -c nautilus -n '__nautilus_is token create' -l subscribe -x -d 'Topic pattern it may subscribe to'
complete -c nautilus -n '__nautilus_is token create' -l deny-publish -x -d 'Topic pattern never published'
complete -c nautilus -n '__nautilus_is token create' -l deny-subscribe -x -d 'Topic pattern never received'

# top
complete -c nautilus -n '__nautilus_is top' -l interval -x -d 'Seconds between polls'
complete -c nautilus -n '__nautilus_is top' -l once -d 'One snapshot, then exit'
complete -c nautilus -n '__nautilus_is top' -l sort -x -a 'rate p50 p90 p99 p999 max queue drops errors name' -d 'Order within each group'

# bench ws
complete -c nautilus -n '__nautilus_is bench ws' -l clients -x -d 'WebSocket connections'
complete -c nautilus -n '__nautilus_is bench ws' -l rate -x -d 'Messages published per second'
complete -c nautilus -n '__nautilus_is bench ws' -l duration -x -d 'Seconds to publish for'
complete -c nautilus -n '__nautilus_is bench ws' -l fanout -x -d 'Clients per topic'
complete -c nautilus -n '__nautilus_is bench ws' -l size -x -d 'Payload bytes'
complete -c nautilus -n '__nautilus_is bench ws' -l ws-threads -x -d "The started daemon's websocket threads"
complete -c nautilus -n '__nautilus_is bench ws' -l daemon -r -F -d 'nautilusd to start'

# bench scale
complete -c nautilus -n '__nautilus_is bench scale' -l backend -x -d 'Redis URL of the bus'
complete -c nautilus -n '__nautilus_is bench scale' -l consumers -x -d 'Consumer counts, comma-separated'
complete -c nautilus -n '__nautilus_is bench scale' -l runs -x -d 'Runs of each consumer count'
complete -c nautilus -n '__nautilus_is bench scale' -l publishers -x -d 'Publisher threads'
complete -c nautilus -n '__nautilus_is bench scale' -l count -x -d 'Messages a run'
complete -c nautilus -n '__nautilus_is bench scale' -l rate -x -d 'Messages per second (default: flat out)'
complete -c nautilus -n '__nautilus_is bench scale' -l size -x -d 'Payload bytes'
complete -c nautilus -n '__nautilus_is bench scale' -l work-us -x -d 'Handler work per message, microseconds'
complete -c nautilus -n '__nautilus_is bench scale' -l wait-us -x -d 'Handler wait per message, microseconds (slept)'
complete -c nautilus -n '__nautilus_is bench scale' -l drain-timeout -x -d 'Seconds without a delivery before the rest count as lost'
complete -c nautilus -n '__nautilus_is bench scale' -l redis-pid -x -d 'redis-server pid, for its CPU'

# bench tick-to-fill / store / backtest
complete -c nautilus -n '__nautilus_is bench tick-to-fill' -l symbols -x -d 'Symbols traded'
complete -c nautilus -n '__nautilus_is bench tick-to-fill' -l duration -x -d 'Seconds'
complete -c nautilus -n '__nautilus_is bench tick-to-fill' -l tick-rate -x -d 'Ticks/s per symbol'
complete -c nautilus -n '__nautilus_is bench tick-to-fill' -l background -x -d 'Background msgs/s'
complete -c nautilus -n '__nautilus_is bench tick-to-fill' -l bar-ms -x -d 'Wall ms per bar'
complete -c nautilus -n '__nautilus_is bench store' -l rows -x -d 'Rows written'
complete -c nautilus -n '__nautilus_is bench store' -l batch -x -d 'Rows per transaction'
complete -c nautilus -n '__nautilus_is bench store' -l postgres -x -d 'Also this PostgreSQL URL'
complete -c nautilus -n '__nautilus_is bench store' -l dir -x -a '(__fish_complete_directories)' -d 'Directory for the SQLite file'
complete -c nautilus -n '__nautilus_is bench store' -l rate -x -d 'Recorded msgs/s'
complete -c nautilus -n '__nautilus_is bench store' -l seconds -x -d 'Seconds of recording'
complete -c nautilus -n '__nautilus_is bench backtest' -l events -x -d 'Market events per chain'
complete -c nautilus -n '__nautilus_is bench backtest' -l symbols -x -d 'Symbols'
complete -c nautilus -n '__nautilus_is bench backtest' -l rate -x -d 'Trades per simulated second per symbol'

# data sources / history, events
complete -c nautilus -n '__nautilus_is data sources' -l probe -d 'One real call per enabled HTTP source'
complete -c nautilus -n '__nautilus_is data history' -s t -l type -x -a 'bar trade quote tick level2 news fundamental economic' -d 'Data type'
for c in 'data history' events
    complete -c nautilus -n "__nautilus_is $c" -l from -x -d 'Start: ISO 8601, a date, ns or a duration back'
    complete -c nautilus -n "__nautilus_is $c" -l to -x -d 'End (exclusive)'
    complete -c nautilus -n "__nautilus_is $c" -l limit -x -d 'At most N rows'
end
complete -c nautilus -n '__nautilus_is data history' -l csv -d 'CSV with a header line'
complete -c nautilus -n '__nautilus_is events' -l topic -x -d 'Topic glob'
complete -c nautilus -n '__nautilus_is events' -l since -x -d 'How far back (15m, 1h, 2d)'

# analytics, collateral
complete -c nautilus -n '__nautilus_is analytics report' -l period -x -a 'interval daily' -d 'Return period'
complete -c nautilus -n '__nautilus_is analytics report' -l engine -x -a '(__nautilus_engines)' -d 'Analytics engine instance'
complete -c nautilus -n '__nautilus_is collateral show' -l engine -x -a '(__nautilus_engines)' -d 'Collateral engine instance'

# backtest
for c in run sweep
    complete -c nautilus -n "__nautilus_is backtest $c" -l data -r -F -d 'CSV of trades, quotes or bars'
    complete -c nautilus -n "__nautilus_is backtest $c" -l from -x -d 'First delivery time replayed'
    complete -c nautilus -n "__nautilus_is backtest $c" -l to -x -d 'Replay up to this time'
    complete -c nautilus -n "__nautilus_is backtest $c" -l no-progress -d 'No progress line'
    complete -c nautilus -n "__nautilus_is backtest $c" -l param -x -d 'engine.key=value(s)'
end
complete -c nautilus -n '__nautilus_is backtest run' -l out -x -a '(__fish_complete_directories)' -d 'Directory for the report files'
complete -c nautilus -n '__nautilus_is backtest sweep' -s j -l jobs -x -d 'Runs at a time'
complete -c nautilus -n '__nautilus_is backtest sweep' -l sort -x -a 'pnl return sharpe sortino max_drawdown win_rate profit_factor fills' -d 'Metric to sort by'
complete -c nautilus -n '__nautilus_is backtest run' -l record -r -F -d 'Record both buses into a new history store'
complete -c nautilus -n "__nautilus_arg_at 'backtest replay' 0" -F -d 'Recording (history store)'
complete -c nautilus -n '__nautilus_is backtest replay' -l from -x -d 'First recorded time replayed'
complete -c nautilus -n '__nautilus_is backtest replay' -l to -x -d 'Replay up to this time'
complete -c nautilus -n '__nautilus_is backtest replay' -l param -x -d 'engine.key=value'
complete -c nautilus -n '__nautilus_is backtest replay' -l ignore-prices -d 'Leave out prices and amounts'
