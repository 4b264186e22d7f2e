"""The stages that touch AWS (or an AWS emulator), and the offline SAM translation they share."""
