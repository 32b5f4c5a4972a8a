from jitsi_sovereign.cli import main

main()
