"""``python -m lstmcast``: the same command as the installed ``lstmcast`` script."""

from lstmcast.cli.app import main

if __name__ == "__main__":
    main()
