// The consumer world in JavaScript: makes a tally at 40 through the imported resource, adds 1 twice.
import { Tally } from "tc:demo/counter";

export function run(name) {
  const tally = new Tally(40);
  tally.add(1);
  return `${name}:${tally.add(1)}`;
}
