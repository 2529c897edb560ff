def run():
    balances = {}
    a = 0
    while a < 1000:
        balances[a] = 0
        a = a + 1
    refused = 0
    i = 0
    while i < 300_000:
        frm = i * 7 % 1000
        to = (i * 13 + 1) % 1000
        amount = i * 31 % 100 + 1
        left = balances[frm] - amount
        if left < -500:
            refused = refused + 1
        else:
            balances[frm] = left
            balances[to] = balances[to] + amount
        i = i + 1
    return refused


if __name__ == "__main__":
    print(run())
