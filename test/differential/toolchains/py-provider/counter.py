# The tally resource of tc:demo/counter: starts at a value, add() returns the new total.
from wit_world.exports import counter


class Tally(counter.Tally):
    def __init__(self, start: int) -> None:
        self.value = start

    def add(self, n: int) -> int:
        self.value += n
        return self.value
