# test_family.sh -- family mutual aid through ledgerctl: bindings, merchants, quote, settle.
. "$(dirname "$0")/lib.sh"
daemon_start --cross-province 11,31

ctl person add CHILD --name 小明 --region 110101 --scheme employee >/dev/null
ctl person add FATHER --name 父亲 --region 110102 --scheme employee >/dev/null
ctl person add MOTHER --name 母亲 --region 110105 --scheme employee >/dev/null
ctl person add GRANDPA --name 爷爷 --region 110101 --scheme resident >/dev/null
ctl person add AUNT --name 姑姑 --region 440103 --scheme employee >/dev/null
ctl person add UNCLE --name 叔叔 --region 310101 --scheme employee >/dev/null
for p in CHILD FATHER MOTHER AUNT UNCLE; do ctl account open $p >/dev/null; done
ctl credit CHILD 30 --ref c1 >/dev/null
ctl credit FATHER 50 --ref c2 >/dev/null
ctl credit MOTHER 200 --ref c3 >/dev/null
ctl credit AUNT 100 --ref c4 >/dev/null

check "bind father" 0 ctl family bind FATHER CHILD --relation child
check "bind mother" 0 ctl family bind MOTHER CHILD --relation child
check "bind a resident grandfather to his grandson's... father" 0 ctl family bind FATHER GRANDPA --relation parent
check "self binding" 1 ctl family bind FATHER FATHER --relation spouse
expect "self binding is named" "SELF_BINDING" "$ERR"
check "duplicate binding" 1 ctl family bind FATHER CHILD --relation child
expect "duplicate is named" "BINDING_EXISTS" "$ERR"
check "unknown relation is a usage error" 2 ctl family bind FATHER CHILD --relation cousin
check "Guangdong is not switched on" 1 ctl family bind AUNT FATHER --relation sibling
expect "cross province is named" "CROSS_PROVINCE_NOT_ALLOWED" "$ERR"
check "Shanghai and Beijing both are" 0 ctl family bind UNCLE FATHER --relation sibling
check "family list" 0 ctl family list CHILD
expect "funding order lists father first" "1. FATHER" "$OUT"
check "family list json" 0 ctl --json family list FATHER
expect "father funds the child" '"beneficiary":"CHILD","relation":"child"' "$OUT"
expect "uncle funds father" '"holder":"UNCLE"' "$OUT"

check "add pharmacy" 0 ctl merchant add PH001 --name 老百姓大药房 --kind pharmacy --region 110101
check "duplicate merchant" 1 ctl merchant add PH001 --name X --kind pharmacy --region 110101
check "merchant list" 0 ctl --json merchant list
expect "merchant listed" '"code":"PH001"' "$OUT"

check "quote" 0 ctl --json quote --merchant PH001 --ref rx-1 --patient CHILD --amount 150
quote=$OUT
expect "quote has no id" '"settlement_id":0' "$quote"
check "balances untouched by the quote" 0 ctl --json account show CHILD
expect "child still has 30" '"balance_fen":3000' "$OUT"
check "settle" 0 ctl --json settle --merchant PH001 --ref rx-1 --patient CHILD --amount 150
settled=$OUT
expect "own account first" '"acct_pay_fen":3000' "$settled"
expect "then father and mother" '"acct_mulaid_pay_fen":12000' "$settled"
expect "no cash" '"cash_pay_fen":0' "$settled"
expect "legs in order" '"legs":[{"holder":"CHILD","amount_fen":3000,"balance_after_fen":0,"mutual_aid":false},{"holder":"FATHER","amount_fen":5000,"balance_after_fen":0,"mutual_aid":true},{"holder":"MOTHER","amount_fen":7000,"balance_after_fen":13000,"mutual_aid":true}]' "$settled"
expect "quote equals settlement" "$(echo "$quote" | sed 's/.*"acct_pay_fen"/"acct_pay_fen"/; s/,"replayed".*//')" "$settled"
check "retry replays" 0 ctl --json settle --merchant PH001 --ref rx-1 --patient CHILD --amount 150
expect "replay flagged" '"replayed":true' "$OUT"
check "changed retry conflicts" 1 ctl settle --merchant PH001 --ref rx-1 --patient CHILD --amount 151
expect "conflict named" "CONFLICT" "$ERR"
id=$(echo "$settled" | sed 's/.*"settlement_id":\([0-9]*\).*/\1/')
check "settlement show" 0 ctl settlement show "$id"
expect "shows the mutual aid leg" "mutual aid" "$OUT"
check "statement shows the debit" 0 ctl statement MOTHER --limit 1
expect "mother's debit" "-70.00" "$OUT"

check "no account: all cash" 0 ctl --json settle --merchant PH001 --ref rx-2 --patient CHILD --amount 10 --no-account
expect "all cash" '"cash_pay_fen":1000' "$OUT"
check "all or nothing refuses" 1 ctl settle --merchant PH001 --ref rx-3 --patient CHILD --amount 1000 --all-or-nothing
expect "insufficient named" "INSUFFICIENT_FUNDS" "$ERR"
check "mother untouched" 0 ctl --json account show MOTHER
expect "mother still 130" '"balance_fen":13000' "$OUT"
ctl credit FATHER 20 --ref c5 >/dev/null
check "resident grandfather paid by his son" 0 ctl --json settle --merchant PH001 --ref rx-4 --patient GRANDPA --amount 5
expect "grandpa's bill from a relative" '"acct_mulaid_pay_fen":500' "$OUT"
check "pharmacy cannot settle inpatient" 1 ctl settle --merchant PH001 --ref rx-5 --patient CHILD --amount 1 --category inpatient
expect "category named" "CATEGORY_NOT_ALLOWED" "$ERR"
check "suspend merchant" 0 ctl merchant suspend PH001
check "suspended merchant cannot settle" 1 ctl settle --merchant PH001 --ref rx-6 --patient CHILD --amount 1
expect "suspension named" "MERCHANT_SUSPENDED" "$ERR"
check "resume merchant" 0 ctl merchant resume PH001
check "unbind" 0 ctl family unbind MOTHER CHILD
check "unbind twice" 1 ctl family unbind MOTHER CHILD
expect "not bound named" "NOT_BOUND" "$ERR"
check "settle without the mother" 0 ctl --json settle --merchant PH001 --ref rx-7 --patient CHILD --amount 1
expect "the father alone pays now" '"legs":[{"holder":"FATHER","amount_fen":100,' "$OUT"

# verify replays every change of a funding order: bindings, a new order, an unbinding, and a
# holder whose account closes.
check "bind the mother again, last" 0 ctl family bind MOTHER CHILD --relation child
check "bind the uncle too" 0 ctl family bind UNCLE CHILD --relation sibling
check "the mother first" 0 ctl family order CHILD MOTHER UNCLE FATHER
check "an order must list the bound holders" 1 ctl family order CHILD MOTHER FATHER
check "the uncle closes his account" 0 ctl withdraw UNCLE --reason opt-out --ref w-uncle
check "so the mother and father remain" 0 ctl family list CHILD
expect "mother first" "1. MOTHER" "$OUT"
expect "father second" "2. FATHER" "$OUT"
check "verify replays the orders" 0 ctl verify
expect "verify ok" "verify: OK" "$OUT"

finish
