"""The idle timeout told in time (WCAG 2.2.1, issue 28): signed-in pages say how long a
session lasts and warn before it ends, "Nie wylogowuj mnie" extends it, and a form sent
after it ended is answered plainly, keeping what was typed."""
