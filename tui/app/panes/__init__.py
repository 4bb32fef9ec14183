"""The main screen's panes. Each takes its inputs as one reactive view (attributes down) and draws itself;
what the user does in it goes up as Textual's own messages (highlighted option or row)."""
