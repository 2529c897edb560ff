def run():
    yes = 0
    no = 0
    abstain = 0
    i = 0
    while i < 300_000:
        ballot = (i * 7919 + 13) % 3
        if ballot == 0:
            yes = yes + 1
        elif ballot == 1:
            no = no + 1
        else:
            abstain = abstain + 1
        i = i + 1
    members = 400_000
    turnout = yes + no + abstain
    return turnout * 100 >= members * 50 and yes * 3 >= (yes + no) * 2


if __name__ == "__main__":
    print(run())
