# The consumer world in Python: makes a tally at 40 through the imported resource, adds 1 twice.
import wit_world
from wit_world.imports.counter import Tally


class WitWorld(wit_world.WitWorld):
    def run(self, name: str) -> str:
        with Tally(40) as tally:
            tally.add(1)
            return f"{name}:{tally.add(1)}"
