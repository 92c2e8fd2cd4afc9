from sarhad.cli import main

main()
