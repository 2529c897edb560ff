def run():
    total = 0
    i = 0
    while i < 3_000_000:
        total = total + i * i % 7
        i = i + 1
    return total


if __name__ == "__main__":
    print(run())
