# test_regional.sh -- policies a region chooses for its own insured (NAME@REGION), end to end
# through ledgerctl: binding caps and evidence, the wallet's limits, quiet hours and binding
# rule, the mutual-aid defaults. The holder's region decides what their account gives and
# sends, the beneficiary's how many accounts fund them; the longest admdvs prefix wins, and a
# flag wins over the file. The clock is libfaketime's, for the quiet hours.
. "$(dirname "$0")/lib.sh"

faketime_setup
# Gansu (62) binds two relatives an account and asks for evidence, Linxia (6229) one; Beijing
# (11) keeps the national seven, and one account at most funds a Beijing relative.
# Guangdong (44) sends without a binding but not over lunch. Gansu's accounts give a relative
# at most 10.00 a month unless the family sets a limit. In Lanzhou (6201) a relative's funders
# pay in the order they were bound.
cat > "$WORK/famledgerd.conf" <<'CONF'
cross_province = 11, 44, 62
bindings_per_holder_max@62 = 2
bindings_per_holder_max@6229 = 1
bindings_per_beneficiary_max@11 = 1
binding_evidence_required@62 = 1
wallet_send_max@62 = 500.00
wallet_sends_per_day@6229 = 1
wallet_quiet_start@44 = 12:00
wallet_quiet_end@44 = 14:00
wallet_requires_binding@44 = 0
aid_monthly_limit_default@62 = 10.00
family_reorder_allowed@6201 = 0
CONF
flags=(--config "$WORK/famledgerd.conf" --wallet-send-max@6229 300.00)
start() {
    LD_PRELOAD="$FAKETIME_LIB" FAKETIME_TIMESTAMP_FILE="$WORK/clock" FAKETIME_NO_CACHE=1 \
        FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=Asia/Shanghai daemon_start "${flags[@]}" "$@"
}

# ---- the settings as the daemon reads them ----
check "the config is read" 0 "$BUILD/famledgerd" "${flags[@]}" --check-config
expect "a province's cap" "bindings_per_holder_max@62 = 2" "$OUT"
expect "a prefecture's" "bindings_per_holder_max@6229 = 1" "$OUT"
expect "the national one stays" "bindings_per_holder_max = 7" "$OUT"
expect "the flag's region" "wallet_send_max@6229 = 300.00" "$OUT"
expect "quiet hours of one province" "wallet_quiet_start@44 = 12:00" "$OUT"
printf '%s\n' "$OUT" | grep -v '^#' > "$WORK/printed.conf"
check "what it prints reads back" 0 "$BUILD/famledgerd" --config "$WORK/printed.conf" \
    --check-config
printf '%s\n' "$OUT" | grep -v '^#' > "$WORK/printed-again.conf"
check "the same" 0 cmp "$WORK/printed.conf" "$WORK/printed-again.conf"
check "a setting no region may choose" 2 "$BUILD/famledgerd" --check-config --timezone@62 UTC
expect "said so" "timezone is the same for every region" "$ERR"
check "a region of three digits" 2 "$BUILD/famledgerd" --check-config \
    --wallet-send-max@620 5.00
expect "said so" "a region is 2, 4 or 6 digits" "$ERR"
echo "wallet_sends_per_day@62 = many" > "$WORK/bad.conf"
check "a bad value in the file" 2 "$BUILD/famledgerd" --config "$WORK/bad.conf" --check-config
expect "its line and region named" "bad.conf:1: wallet_sends_per_day@62: 'many'" "$ERR"

set_clock "2026-12-02 10:00:00"
start
for p in LZ:620100 LX:622901 BJ:110101 GD:440100; do
    ctl person add "${p%%:*}" --name "${p%%:*}" --region "${p#*:}" --scheme employee >/dev/null
    ctl account open "${p%%:*}" >/dev/null
    ctl credit "${p%%:*}" 3000.00 --ref "alloc-${p%%:*}" >/dev/null
done
for p in R1:620100 R2:620100 R3:620100 RB:110101 RG:440100 RQ:440100; do
    ctl person add "${p%%:*}" --name "${p%%:*}" --region "${p#*:}" --scheme resident >/dev/null
done
ctl merchant add GS1 --name "兰州药房" --kind pharmacy --region 620100 >/dev/null

# ---- bindings ----
check "Gansu asks a binding for its evidence" 1 ctl family bind LZ R1 --relation parent
expect "said so" "must name the evidence" "$ERR"
check "Beijing does not" 0 ctl family bind BJ RB --relation child
check "a Lanzhou account funds one" 0 ctl family bind LZ R1 --relation parent --evidence HK-1
check "and two" 0 ctl family bind LZ R2 --relation spouse --evidence HK-2
check "but not three (Gansu: 2)" 1 ctl family bind LZ R3 --relation child --evidence HK-3
expect "the cap and its region named" "LZ already funds 2 relatives (limit 2 in region 620100)" \
    "$ERR"
expect "the status" "HOLDER_BINDING_LIMIT" "$ERR"
check "a Linxia account funds one" 0 ctl family bind LX R3 --relation child --evidence HK-4
check "but not two (Linxia: 1, the longer prefix)" 1 ctl family bind LX R2 --relation sibling \
    --evidence HK-5
expect "its cap" "limit 1 in region 622901" "$ERR"
check "a Beijing account funds a Gansu relative too" 0 ctl family bind BJ R3 \
    --relation child
check "a Beijing relative is funded by one account" 1 ctl family bind GD RB --relation parent
expect "the beneficiary's region decides" "RB already has 1 funders (limit 1 in region 110101)" \
    "$ERR"
expect "the status" "BENEFICIARY_BINDING_LIMIT" "$ERR"
check "Lanzhou keeps the order of binding" 1 ctl family order R3 BJ LX
expect "the status" "FUNDING_ORDER_FIXED" "$ERR"
expect "the region named" "region 620100 does not let families change it" "$ERR"
check "the order stands" 0 ctl family list R3
expect "Linxia's account first" "1. LX" "$OUT"
check "GD funds RQ" 0 ctl family bind GD RQ --relation child
check "so does BJ" 0 ctl family bind BJ RQ --relation sibling
check "Guangzhou lets a family reorder" 0 ctl family order RQ BJ GD
check "the new order" 0 ctl family list RQ
expect "Beijing's account first" "1. BJ" "$OUT"

# ---- the wallet ----
check "over Gansu's 500.00 a send" 1 ctl wallet send LZ R1 500.01 --ref w-lz-big
expect "the limit named" "at most 500.00 yuan" "$ERR"
check "500.00 from Lanzhou" 0 ctl wallet send LZ R1 500.00 --ref w-lz
check "over Linxia's 300.00, set by a flag" 1 ctl wallet send LX R3 300.01 --ref w-lx-big
expect "the flag's limit" "at most 300.00 yuan" "$ERR"
check "300.00 from Linxia" 0 ctl wallet send LX R3 300.00 --ref w-lx
check "accepted" 0 ctl wallet accept --ref w-lx
check "Linxia sends once a day" 1 ctl wallet send LX R3 1.00 --ref w-lx-2
expect "the status" "WALLET_DAILY_LIMIT" "$ERR"
check "Beijing sends over 500.00" 0 ctl wallet send BJ RB 1500.00 --ref w-bj
check "accepted" 0 ctl wallet accept --ref w-bj
check "Beijing sends only to a bound relative" 1 ctl wallet send BJ RG 1.00 --ref w-bj-rg
expect "the status" "NOT_BOUND" "$ERR"
check "Guangdong sends to a relative it has not bound" 0 ctl wallet send GD RG 20.00 --ref w-gd
check "who accepts it" 0 ctl wallet accept --ref w-gd
set_clock "2026-12-02 12:30:00"
check "not over Guangdong's lunch" 1 ctl wallet send GD RG 1.00 --ref w-gd-lunch
expect "its quiet hours named" "no wallet sends from 12:00 to 14:00" "$ERR"
check "Beijing sends then" 0 ctl wallet send BJ RB 1.00 --ref w-bj-lunch
check "accepted" 0 ctl wallet accept --ref w-bj-lunch
set_clock "2026-12-02 22:30:00"
check "Guangdong sends at 22:30" 0 ctl wallet send GD RG 1.00 --ref w-gd-night
check "Beijing does not (the national 22:00)" 1 ctl wallet send BJ RB 1.00 --ref w-bj-night
expect "the national hours" "no wallet sends from 22:00 to 06:00" "$ERR"

# ---- mutual aid: the holder's region sets the default ----
set_clock "2026-12-03 10:00:00"
check "R2 buys 50.00 of medicine" 0 ctl --json settle --merchant GS1 --ref s1 --patient R2 \
    --amount 50.00
expect "Lanzhou's account gives 10.00 (Gansu's default)" '"acct_mulaid_pay_fen":1000' "$OUT"
expect "the rest in cash" '"cash_pay_fen":4000' "$OUT"
check "family list shows the default" 0 ctl --json family list R2
expect "as R2's limit" '"holder":"LZ","beneficiary":"R2"' "$OUT"
expect "of 10.00 a month" '"monthly_limit_fen":1000,"yearly_limit_fen":0' "$OUT"
check "the family sets 30.00" 0 ctl family limit LZ R2 --monthly 30.00
check "R2 buys again" 0 ctl --json settle --merchant GS1 --ref s2 --patient R2 --amount 50.00
expect "20.00 more this month" '"acct_mulaid_pay_fen":2000' "$OUT"
check "R3 in Gansu, funded from Beijing and Linxia" 0 ctl --json settle --merchant GS1 \
    --ref s3 --patient R3 --amount 400.00
# R3's wallet (300.00) first, then its funders in the order bound: Linxia's account, limited
# by Gansu's default to 10.00, then Beijing's, which no default limits.
expect "the wallet first" '{"holder":"R3","amount_fen":30000,"balance_after_fen":0' "$OUT"
expect "then Linxia's 10.00" '{"holder":"LX","amount_fen":1000,' "$OUT"
expect "and Beijing's 90.00" '{"holder":"BJ","amount_fen":9000,' "$OUT"
expect "nothing in cash" '"cash_pay_fen":0' "$OUT"
check "Linxia's account after it" 0 ctl --json account show LX
expect "gave 10.00" '"balance_fen":269000' "$OUT"
check "Beijing's account after it" 0 ctl --json account show BJ
expect "gave 90.00" '"balance_fen":140900' "$OUT"

check "the ledger verifies" 0 ctl verify
finish
