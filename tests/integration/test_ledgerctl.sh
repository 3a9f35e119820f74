# ledgerctl.sh -- the administrators' tool end to end: persons, accounts, credits, statements,
# entries and head, exit codes and --json, across a daemon restart.
. "$(dirname "$0")/lib.sh"
daemon_start

check "register an employee" 0 ctl person add E1 --name "张三" --region 110101 --scheme employee
expect "person add prints the person" "scheme       employee" "$OUT"
check "register a resident" 0 ctl person add R1 --name "李四" --region 440100 --scheme resident
check "duplicate person" 1 ctl person add E1 --name X --region 110101 --scheme employee
expect "duplicate is named" "PERSON_EXISTS" "$ERR"
check "bad scheme is a usage error" 2 ctl person add E2 --name X --region 110101 --scheme farmer
check "missing option is a usage error" 2 ctl person add E2 --name X
check "bad region is rejected by the daemon" 1 ctl person add E2 --name X --region 1101 --scheme employee
expect "bad region is explained" "region" "$ERR"

check "open an account" 0 ctl account open E1
check "resident has no account" 1 ctl account open R1
expect "resident refusal is named" "NOT_EMPLOYEE" "$ERR"

check "credit in yuan" 0 ctl credit E1 120.5 --ref alloc-202611-E1
expect "credit prints yuan with two decimals" "credited 120.50 to E1" "$OUT"
check "credit retry replays" 0 ctl --json credit E1 120.5 --ref alloc-202611-E1
expect "replay is flagged" '"replayed":true' "$OUT"
expect "json amounts are fen" '"amount_fen":12050' "$OUT"
check "credit retry with other content conflicts" 1 ctl credit E1 99 --ref alloc-202611-E1
expect "conflict is named" "CONFLICT" "$ERR"
check "deposit" 0 ctl credit E1 80 --ref dep-1 --kind deposit
check "three decimals is a usage error" 2 ctl credit E1 1.234 --ref x
expect "that says so" "'1.234' has more than two decimals" "$ERR"
check "negative amount is a usage error" 2 ctl credit E1 -5 --ref x
expect "that says so" "'-5' is not a positive amount" "$ERR"
check "an amount too large for fen is a usage error" 2 ctl credit E1 99999999999999999999 --ref x
expect "that says so" "is too large to be an amount" "$ERR"
check "a shape that is not yuan is a usage error" 2 ctl credit E1 1e5 --ref x
expect "that says so" "'1e5' is not an amount in yuan" "$ERR"
check "credit without ref is a usage error" 2 ctl credit E1 5

check "account show" 0 ctl account show E1
expect "balance in yuan" "balance    200.50" "$OUT"
check "account show json" 0 ctl account show E1 --json
expect "balance in fen" '"balance_fen":20050' "$OUT"
expect "status" '"status":"open"' "$OUT"

check "statement newest first" 0 ctl statement E1
first_line=$(echo "$OUT" | sed -n 2p)
expect "newest line is the deposit" "dep-1" "$first_line"
# Times carry their zone's offset (+08:00, or Z with --utc): the columns after them stay put.
header=$(echo "$OUT" | sed -n 1p)
expect "the header says TIME, in no one zone" "SEQ      TIME   " "$header"
after_type=${header#*TYPE}
type_column=$(( ${#header} - ${#after_type} - 4 ))
expect "types line up under TYPE" "account_credited" "${first_line:type_column:16}"
check "statement in UTC" 0 ctl --utc statement E1
utc_line=$(echo "$OUT" | sed -n 2p)
expect "in UTC too" "account_credited" "${utc_line:type_column:16}"
check "statement oldest first, one line" 0 ctl statement E1 --oldest-first --limit 1
expect "oldest line is the opening" "account_opened" "$OUT"
expect "a further page is offered" "--cursor" "$OUT"
check "statement json" 0 ctl --json statement E1 --limit 2
expect "json statement has fen" '"balance_after_fen":20050' "$OUT"
check "statement limit over 1000 is a usage error" 2 ctl statement E1 --limit 5000

check "head" 0 ctl --json head
expect "head is at entry 5" '"seq":5' "$OUT"
head_before=$OUT
check "entry" 0 ctl entry 4
expect "entry type" "account_credited" "$OUT"
expect "entry amounts in yuan" "amount_fen: 120.50" "$OUT"
check "entry json" 0 ctl entry 4 --json
expect "entry json body" '"body":{"person_no":"E1","amount_fen":12050' "$OUT"
check "unknown entry" 1 ctl entry 999
expect "unknown entry is named" "UNKNOWN_ENTRY" "$ERR"
check "operator is recorded" 0 ctl --operator clerk-7 credit E1 1 --ref op-1
check "entry shows the operator" 0 ctl --json entry 6
expect "operator in actor" '"operator_id":"clerk-7"' "$OUT"

check "unknown command" 2 ctl frobnicate
check "unknown option" 2 ctl head --colour

daemon_stop
check "nobody listening is exit 3" 3 ctl head
daemon_start
check "head survives a restart" 0 ctl --json head
expect "same head after restart" '"seq":6' "$OUT"
check "balance survives a restart" 0 ctl --json account show E1
expect "same balance after restart" '"balance_fen":20150' "$OUT"
[ -n "$head_before" ]

# Text a person may type into a name, a reference or an operator id, quotes and backslashes
# among it, comes out of every JSON form as it went in.
check "a credit under a reference with quotes" 0 ctl --operator 'clerk"7"\x' --json credit E1 1 \
    --ref 'q"1\'
seq=$(echo "$OUT" | sed 's/.*"seq":\([0-9]*\).*/\1/')
check "read back by entry, tail and the day's export" 0 python3 -c '
import json, subprocess, sys
def run(*args):
    return subprocess.run([sys.argv[1], "--socket", sys.argv[2], "--json", *args],
                          check=True, capture_output=True, text=True).stdout
seq = int(sys.argv[3])
forms = [json.loads(run("entry", str(seq)))["body"]["reference"],
         json.loads(run("tail", "--from", str(seq)).splitlines()[0])["body"]["reference"],
         json.loads(run("entry", str(seq)))["actor"]["operator_id"]]
day = [json.loads(line) for line in subprocess.run(
    [sys.argv[1], "--socket", sys.argv[2], "export", "--format", "jsonl", "--date",
     sys.argv[4]], check=True, capture_output=True, text=True).stdout.splitlines()]
forms.append([row for row in day if row["seq"] == seq][0]["body"]["reference"])
want = ["q\"1\\", "q\"1\\", "clerk\"7\"\\x", "q\"1\\"]
sys.exit(0 if forms == want else print(forms) or 1)' "$BUILD/ledgerctl" "$SOCKET" "$seq" \
    "$(head_day)"

# famledgerd's own command line: a config file, flags that override it, --check-config.
printf 'map_mib = 32\nconnections_max = 10\n' > "$WORK/famledgerd.conf"
check "check-config accepts a file" 0 "$BUILD/famledgerd" --config "$WORK/famledgerd.conf" --check-config
expect "file setting applied" "map_mib = 32" "$OUT"
check "a flag overrides the file" 0 "$BUILD/famledgerd" --config "$WORK/famledgerd.conf" --map-mib 48 --check-config
expect "flag wins" "map_mib = 48" "$OUT"
check "an unknown time zone is refused" 2 "$BUILD/famledgerd" --timezone Mars/Olympus --check-config
expect "time zone named" "timezone" "$ERR"
printf 'map_mib = lots\n' > "$WORK/bad.conf"
check "a bad config line is refused with its line" 2 "$BUILD/famledgerd" --config "$WORK/bad.conf" --check-config
expect "line named" "bad.conf:1:" "$ERR"
check "--help" 0 "$BUILD/famledgerd" --help
expect "lists the settings as flags" "--wallet-quiet-start" "$OUT"
check "--name=value is a flag too" 0 "$BUILD/famledgerd" --map-mib=40 --check-config
expect "taken" "map_mib = 40" "$OUT"
# flag|value (none: the flag is last)|what the refusal names
while IFS='|' read -r flag value named; do
    if [ -n "$value" ]; then
        check "$flag $value is refused" 2 "$BUILD/famledgerd" --check-config "$flag" "$value"
    else
        check "$flag without a value is refused" 2 "$BUILD/famledgerd" --check-config "$flag"
    fi
    expect "saying $named" "$named" "$ERR"
done <<'CASES'
--hold-seconds-max||--hold-seconds-max needs a value
--bogus|1|unknown setting 'bogus'
--wallet-send-max|0.001|'0.001' is not an amount of yuan
--wallet-send-max|2000.00.0|'2000.00.0' is not an amount of yuan
--wallet-quiet-start|25:00|'25:00' is not a time of day
--wallet-quiet-start|7:5|'7:5' is not a time of day
--hold-seconds-max|0|'0' is not a whole number from 1 to 86400
--hold-seconds-max|-1|'-1' is not a whole number
--hold-seconds-max|12abc|'12abc' is not a whole number
--data-dir||--data-dir needs a value
--major-disease-codes|/nonexistent|/nonexistent: No such file
CASES
check "an argument that is not a flag" 2 "$BUILD/famledgerd" --check-config stray
expect "is named" "unexpected argument 'stray'" "$ERR"
printf 'C01\nC 02\n' > "$WORK/codes.txt"
check "a disease code with a space" 2 "$BUILD/famledgerd" --major-disease-codes "$WORK/codes.txt" \
    --check-config
expect "names its line" "codes.txt:2:" "$ERR"
printf '# none yet\n' > "$WORK/codes.txt"
check "a list of no codes" 2 "$BUILD/famledgerd" --major-disease-codes "$WORK/codes.txt" \
    --check-config
expect "is refused" "lists no code" "$ERR"
# Lines longer than a buffer: a comment's rest was once read as a line of its own (here, the
# code Z99), and a merchant_peers line of 30 pharmacies (3,000 bytes) was refused.
printf '#%0300dZ99\n' 0 > "$WORK/codes.txt"
check "a long comment is one line" 2 "$BUILD/famledgerd" --major-disease-codes "$WORK/codes.txt" \
    --check-config
expect "and no code" "lists no code" "$ERR"
peers=$(for i in $(seq 10 39); do printf 'uid:1000%s=' "$i"
    for j in 1 2 3 4 5 6 7; do printf 'PHARMACY%s0%s,' "$i" "$j"; done; printf 'PHARMACY%s08; ' "$i"
done)
printf '# %0200d\nmerchant_peers = %s\n' 0 "$peers" > "$WORK/long.conf"
check "a long merchant_peers line" 0 "$BUILD/famledgerd" --config "$WORK/long.conf" --check-config
expect "is read whole" "uid:100039=PHARMACY3901,PHARMACY3902,PHARMACY3903" "$OUT"
# A file saved by a Windows editor: a byte-order mark and CRLF line ends.
printf '\357\273\277map_mib = 32\r\nconnections_max = 10\r\n' > "$WORK/windows.conf"
check "a config with a byte-order mark and CRLF" 0 "$BUILD/famledgerd" --config \
    "$WORK/windows.conf" --check-config
expect "is read" "connections_max = 10" "$OUT"

finish
