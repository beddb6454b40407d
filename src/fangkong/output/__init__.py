"""What the engine's decisions become for people: order documents (HTML, one per person), the
chain of events and rules behind a person's status (`explain`), and the exchange files of
assistance requests (协查) for other regions. These read the stored orders; they decide nothing.
Files holding personal data are written readable by their owner only."""
